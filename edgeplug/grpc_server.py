"""The gRPC server of ``manage.py grpcserver``: the servicers named in ``GRPC_SERVICERS``, the
standard health and reflection services, TLS when a certificate and key are configured (a
renewal of them on disk served from the next connection on: ``edgeplug.grpc_tls``), and
``django_call``, which every servicer method runs in (database connections handled as
Django does around a request; our errors mapped to gRPC status codes, a refusal with 403
audited as the other doors audit it)."""

import contextlib
import logging
import re
import threading
from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import NoReturn

import grpc
from django.conf import settings
from django.db import close_old_connections
from django.utils.module_loading import import_string
from google.protobuf import any_pb2, duration_pb2
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import DecodeError, Message
from google.protobuf.message_factory import GetMessageClass
from google.rpc import error_details_pb2, status_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from grpc_status import rpc_status

from edgeplug.audit.services import record_if_denied
from edgeplug.core.reconnect import LOST
from edgeplug.errors import BadRequest, DomainError, Throttled, retry_seconds
from edgeplug.grpc_tls import RenewedCertificate

log = logging.getLogger(__name__)

_STATUS = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.NOT_FOUND,
    409: grpc.StatusCode.FAILED_PRECONDITION,
    413: grpc.StatusCode.INVALID_ARGUMENT,
    422: grpc.StatusCode.INVALID_ARGUMENT,
    429: grpc.StatusCode.RESOURCE_EXHAUSTED,
    503: grpc.StatusCode.UNAVAILABLE,
}


def status_for(error: DomainError) -> grpc.StatusCode:
    return _STATUS.get(error.status, grpc.StatusCode.INTERNAL)


class CallRequest:
    """A gRPC call as the audit log records a request: ``POST /package.Service/Method`` (a
    gRPC call is an HTTP/2 POST to that path), the peer's address, and the caller (``user``,
    ``tenant``) once the servicer has authenticated it: a device's tenant, a user's token's
    tenant and user. Its ``resolver_match.view_name`` is the method's full name
    (``package.Service/Method``), as an API request's is its URL's name."""

    method = "POST"

    def __init__(self, path: str, peer: str) -> None:
        self.path = path
        self.resolver_match = SimpleNamespace(view_name=path.lstrip("/"))
        self.META = {"REMOTE_ADDR": _peer_address(peer)}
        self.user = None
        self.tenant = None


def _peer_address(peer: str) -> str | None:
    """``ipv4:10.0.0.7:51234`` -> ``10.0.0.7``, ``ipv6:[::1]:51234`` -> ``::1``; None for a
    peer without an IP (a Unix socket)."""
    family, _, rest = peer.partition(":")
    if family not in ("ipv4", "ipv6"):
        return None
    return rest.rpartition(":")[0].strip("[]") or None


def authorization(context: grpc.ServicerContext) -> str:
    """The call's ``authorization`` metadata, "" when it has none or several: which of two
    credentials a call means is not guessed (the last one was taken), and "" is refused as
    no credentials, the way each service tells it."""
    sent = [value for key, value in context.invocation_metadata() if key == "authorization"]
    return str(sent[0]) if len(sent) == 1 else ""


def abort(context: grpc.ServicerContext, status: grpc.StatusCode, code: str, detail: str):
    """End the call with ``status``, its message ``code: detail`` and the code in the
    ``edgeplug-code`` trailing metadata: how the EdgePlug gRPC services refuse a call (a
    fault of ours ends ``INTERNAL internal_error``, telling nothing of it)."""
    context.set_trailing_metadata((("edgeplug-code", code),))
    context.abort(status, f"{code}: {detail}")


def add_service(
    server: grpc.Server,
    servicer,
    service: ServiceDescriptor,
    *,
    decoders: Mapping[str, Callable[[bytes], Message]] | None = None,
) -> str:
    """Serve ``servicer``'s methods of ``service``, each handed its call's request stream, a
    method of one request message included; returns the service's full name. gRPC would have
    a worker thread wait for that one message before the method runs, for as long as the
    client keeps it from coming, and decode it whoever sent it: here the method checks its
    caller first, then reads it (``one_request``). A method's messages are decoded by its
    entry in ``decoders``, else by their class; a decoder may refuse a message with one of our
    errors, which the call is answered with (``_AnswerDecodersRefusals``)."""
    handlers = {}
    for method in service.methods:
        decode = (decoders or {}).get(method.name) or GetMessageClass(method.input_type).FromString
        handler = (
            grpc.stream_stream_rpc_method_handler
            if method.server_streaming
            else grpc.stream_unary_rpc_method_handler
        )
        handlers[method.name] = handler(
            getattr(servicer, method.name),
            request_deserializer=decode,
            response_serializer=GetMessageClass(method.output_type).SerializeToString,
        )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(service.full_name, handlers),)
    )
    server.add_registered_method_handlers(service.full_name, handlers)
    return service.full_name


@contextlib.contextmanager
def django_call(context: grpc.ServicerContext, method: str) -> Iterator[CallRequest]:
    """Run one call of ``method`` (``/package.Service/Method``): close stale connections
    before and after (as Django's request signals do), and abort with a status code and
    ``edgeplug-code`` trailing metadata on an error. Yields the call's ``CallRequest``, on
    which the servicer names the caller once it has authenticated them; a refusal with 403
    (PERMISSION_DENIED) is audited as ``permission_denied`` with it, as the API's, the
    portal's and the admin's are (``record_if_denied``)."""
    close_old_connections()
    call = CallRequest(method, context.peer())
    try:
        yield call
    except Exception as error:
        if isinstance(error, grpc.RpcError) and not context.is_active():
            # gRPC's own: the call ended under the servicer (its client cancelled, its
            # deadline passed) as it read the next request. Nothing of ours failed.
            log.info("gRPC call %s ended by its client", method)
            raise
        if context.code() is not None:
            raise  # ended with its status already (``abort``, the only setter of a code here)
        if isinstance(error, DomainError):
            try:
                record_if_denied(call, error)
            except Exception as unaudited:  # noqa: BLE001 - answered as the call's own failure
                # A refusal is told only once it is audited: the client's retry is refused.
                error = unaudited
        _answer(context, method, error)
    finally:
        close_old_connections()


def _answer(context: grpc.ServicerContext, method: str, error: Exception) -> NoReturn:
    """End a call that raised ``error``: a refusal with its status and code; a database that
    cannot serve now (``LOST``) UNAVAILABLE ``database_unavailable``, for the client to retry
    as REST's 503; any other failure, a fault of ours, INTERNAL ``internal_error`` as REST's
    500, logged with its traceback, where gRPC's own UNKNOWN would hand the exception's text
    (a query, a path) to the caller."""
    if isinstance(error, DomainError):
        if error.retry_after is not None:
            context.abort_with_status(_status_with_retry(error, error.retry_after))
        abort(context, status_for(error), error.code, error.detail)
    if isinstance(error, LOST):
        log.warning("gRPC call %s lost the database: %s", method, error)
        abort(context, grpc.StatusCode.UNAVAILABLE, "database_unavailable", "retry the call")
    log.error("gRPC call %s failed", method, exc_info=error)
    abort(context, grpc.StatusCode.INTERNAL, "internal_error", "Internal server error.")


def _status_with_retry(error: DomainError, retry_after: int) -> grpc.Status:
    """The status of a refusal that lifts after a while: the standard ``google.rpc.RetryInfo``
    detail (what gRPC clients and grpcurl read), and ``retry-after`` seconds and our code as
    plain trailing metadata."""
    info = any_pb2.Any()
    info.Pack(error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=retry_after)))
    status = rpc_status.to_status(
        status_pb2.Status(
            code=status_for(error).value[0],
            message=f"{error.code}: {error.detail}",
            details=[info],
        )
    )
    return _Status(
        status.code,
        status.details,
        (
            *status.trailing_metadata,
            ("edgeplug-code", error.code),
            ("retry-after", str(retry_after)),
        ),
    )


class _Status(namedtuple("_Status", ("code", "details", "trailing_metadata")), grpc.Status): ...


class MalformedMessage(BadRequest, code="malformed_message"):
    """A request whose bytes are not its method's message."""


class _Refused:
    """A request its decoder refused: what ``_AnswerDecodersRefusals`` hands on."""

    def __init__(self, error: DomainError):
        self.error = error


class _AnswerDecodersRefusals(grpc.ServerInterceptor):
    """A request its decoder refuses is answered with our code, as the API answers a body it
    cannot take: bytes that are not its message (a string field of bad UTF-8, which C encoders
    such as nanopb send unchecked) ``INVALID_ARGUMENT`` ``malformed_message``, where gRPC itself
    would end the call with a bare ``INTERNAL`` "Exception deserializing request!", which a
    device takes for a server fault and sends again, forever; and a refusal of one of our
    errors a service's decoder raises (``add_service``'s ``decoders``: a usage batch too large,
    refused as soon as it is decoded) with its status and code. The decoder hands such a
    request on as ``_Refused``, and the method refuses it when it reads it (in a stream of
    requests, the batches before it stay stored, as before any refusal)."""

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None or handler.request_deserializer is None:
            return handler
        decode = handler.request_deserializer
        streams = ("stream" if handler.request_streaming else "unary") + (
            "_stream" if handler.response_streaming else "_unary"
        )
        method = getattr(handler, streams)

        def lenient(data: bytes):
            try:
                return decode(data)
            except DecodeError as error:
                return _Refused(
                    MalformedMessage(
                        f"the request is not a valid message of {handler_call_details.method}: "
                        f"{error}"
                    )
                )
            except DomainError as error:
                # Without its traceback, whose frames would keep what the decoder decoded
                # (a batch of many events) until the method reads the refusal.
                return _Refused(error.with_traceback(None))

        def checked(request, context):
            if isinstance(request, _Refused):
                _answer(context, handler_call_details.method, request.error)
            return request

        def refusing(request, context):
            if handler.request_streaming:  # ``request``: the iterator of the stream's messages
                return method((checked(each, context) for each in request), context)
            return method(checked(request, context), context)

        return handler._replace(request_deserializer=lenient, **{streams: refusing})


# How far past ``API_MAX_JSON_BYTES`` gRPC reads a message, so that a service refuses one a
# little too large with its own code (a usage batch: ``payload_too_large``, before decoding it);
# beyond, gRPC refuses it itself, RESOURCE_EXHAUSTED "Received message larger than max",
# before reading it. (Until 2026-12-06 four times that: 4 MiB, whose empty usage events, 2
# bytes each, decode to about 200 MiB.)
TRANSPORT_MARGIN_BYTES = 64 * 1024


def build_server(
    address: str | None = None,
    *,
    reuse_port: bool = False,
    executor: ThreadPoolExecutor | None = None,
) -> tuple[grpc.Server, int]:
    """A server with every configured servicer, health and reflection, bound to ``address``
    (port 0 picks a free one); returns it unstarted with the bound port. ``reuse_port`` lets
    several processes bind the same port (``SO_REUSEPORT``: the kernel spreads connections
    over them); without it, binding a port in use fails. The calls run on ``executor``'s
    threads (by default a pool of GRPC_MAX_WORKERS), each keeping its database connection as
    a web worker does, until the process ends."""
    server = grpc.server(
        executor or ThreadPoolExecutor(max_workers=settings.GRPC_MAX_WORKERS),
        interceptors=[_AnswerDecodersRefusals()],
        options=[
            (
                "grpc.max_receive_message_length",
                settings.API_MAX_JSON_BYTES + TRANSPORT_MARGIN_BYTES,
            ),
            ("grpc.so_reuseport", int(reuse_port)),
        ],
    )
    names = []
    for dotted in settings.GRPC_SERVICERS:
        names.extend(import_string(dotted)(server))
    checker = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(checker, server)
    for name in ["", *names]:
        checker.set(name, health_pb2.HealthCheckResponse.SERVING)
    health_name = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name
    reflection.enable_server_reflection([*names, health_name, reflection.SERVICE_NAME], server)
    address = address or settings.GRPC_ADDRESS
    if settings.GRPC_TLS_CERT_FILE and settings.GRPC_TLS_KEY_FILE:
        certificate = RenewedCertificate(settings.GRPC_TLS_KEY_FILE, settings.GRPC_TLS_CERT_FILE)
        port = server.add_secure_port(address, certificate.credentials())
    else:
        port = server.add_insecure_port(address)
    return server, port


EMPTY = '""'  # an empty address, as a refusal names it

# host:port as a server binds it: a name or an IPv4 address, or an IPv6 one in brackets.
_ADDRESS = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[^\s:\[\]]+):(?P<port>[0-9]{1,5})", re.ASCII)


def address_refusal(address: str) -> str | None:
    """Why the gRPC server cannot serve on ``address``, said of it, or None: it must be
    ``host:port`` with a port from 0 (one the kernel picks) to 65535. gRPC reads the rest its
    own way: ``127.0.0.1:-1`` served on 65535, ``:70000`` on 4464, no port on 443, "" on
    50051."""
    found = _ADDRESS.fullmatch(address)
    if found is None:
        return "give host:port (e.g. 127.0.0.1:50051)"
    if int(found["port"]) > 65535:
        return "the port must be from 0 to 65535"
    return None


@contextlib.contextmanager
def one_of(slots: threading.BoundedSemaphore, context, method: str, *, what: str, retry_s: float):
    """The block, holding one of ``slots`` (calls that hold a worker thread as long as their
    client keeps them open: at most so many at once); none free, the call is refused as every
    throttled call is (RESOURCE_EXHAUSTED ``throttled``, RetryInfo in whole seconds)."""
    if not slots.acquire(blocking=False):
        with django_call(context, method):
            raise too_many(what, retry_s)
    try:
        yield
    finally:
        slots.release()


def too_many(what: str, retry_s: float) -> Throttled:
    """The refusal of a call past a cap of calls open at once ("Too many ``what`` now")."""
    wait = retry_seconds(retry_s)
    return Throttled(f"Too many {what} now: retry in {wait} s.", retry_after=wait)
