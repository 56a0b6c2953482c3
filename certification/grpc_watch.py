"""gRPC door for watching a certification run (edgeplug.certification.v1.CertificationService.
WatchRun): the caller's JWT from the ``authorization`` metadata, the run looked up as GET
/api/v1/certification/{id} does (its vendor's members and reviewers), then its progress
streamed on each change; each poll authenticates the caller and looks the run up again, as
each REST poll does."""

import threading
from collections.abc import Iterator

import grpc
from django.conf import settings
from django.db import close_old_connections
from django.http import HttpRequest
from google.protobuf.timestamp_pb2 import Timestamp
from rest_framework import exceptions
from rest_framework.request import Request

from certification.api.views import runs_for
from certification.models import CertificationRun
from edgeplug.accounts.authentication import TenantJWTAuthentication
from edgeplug.certification.v1 import certification_pb2 as pb
from edgeplug.certification.v1 import certification_pb2_grpc
from edgeplug.core.exceptions import code_and_detail
from edgeplug.core.locking import one_snapshot
from edgeplug.grpc_requests import one_request
from edgeplug.grpc_server import CallRequest, abort, add_service, authorization, django_call, one_of
from edgeplug.tenancy.scoping import request_tenant

_SERVICE = pb.DESCRIPTOR.services_by_name["CertificationService"]
SERVICE = _SERVICE.full_name
WATCH_RUN = f"/{SERVICE}/WatchRun"


def register(server: grpc.Server) -> list[str]:
    return [add_service(server, CertificationServicer(), _SERVICE)]


class CertificationServicer(certification_pb2_grpc.CertificationServiceServicer):
    def __init__(self):
        # A watch holds one of the server's worker threads while it lasts: at most this many
        # at once, so watchers can never starve the devices' usage reports.
        self._watches = threading.BoundedSemaphore(settings.GRPC_MAX_WATCHES)

    def WatchRun(self, requests, context) -> Iterator[pb.RunProgress]:
        """``requests``: the call's stream of its one message (``add_service``), read once the
        caller is authenticated, so a call without a token holds no thread waiting for it."""
        with one_of(
            self._watches, context, WATCH_RUN, what="watches", retry_s=settings.GRPC_WATCH_POLL_S
        ):
            yield from self._watch(requests, context)

    def _watch(self, requests, context) -> Iterator[pb.RunProgress]:
        cancelled = threading.Event()
        context.add_callback(cancelled.set)
        with django_call(context, WATCH_RUN) as call:
            _caller_request(context)
            request = one_request(requests, context)
            sent = None
            while True:
                # Each poll is authenticated and looked up again, as each REST poll of
                # GET /api/v1/certification/{id} is: a token expired, a member removed or a
                # tenant deactivated while the stream is open ends it at the next poll.
                with one_snapshot():  # the run and its results and attempts from one moment
                    progress = _progress(_watched_run(context, call, request.run_id))
                if progress != sent:
                    # Authenticated again once the run is read: a refusal that came between
                    # the poll's first check and its read (a member removed, then the run
                    # progressed) ends the stream here instead of sending that progress.
                    _caller_request(context)
                    yield progress
                    sent = progress
                if progress.finished:
                    return
                # Between polls the connection goes back as after a request, so a long watch
                # holds none; the run is read afresh each time.
                close_old_connections()
                if cancelled.wait(settings.GRPC_WATCH_POLL_S):
                    return


def _watched_run(context: grpc.ServicerContext, call: CallRequest, run_id: int) -> CertificationRun:
    """The run as the call's caller may see it now (``_caller_request``, then ``runs_for``:
    its vendor's members and reviewers); the call is aborted as REST would answer otherwise
    (UNAUTHENTICATED, NOT_FOUND: a customer, or another vendor, is told no such run). The
    caller is named on ``call`` for the audit log."""
    caller = _caller_request(context)
    call.user, call.tenant = caller.user, request_tenant(caller)
    runs = runs_for(caller).prefetch_related("results")  # attempts: read while it runs
    try:
        return runs.get(pk=run_id)
    except CertificationRun.DoesNotExist:
        abort(context, grpc.StatusCode.NOT_FOUND, "not_found", "No such run.")


def _caller_request(context: grpc.ServicerContext) -> Request:
    """A DRF request carrying the metadata's bearer token, authenticated as the REST API
    does (the tenant and role of the token's membership, or a reviewer's staff powers)."""
    http = HttpRequest()
    http.method = "GET"
    http.META["HTTP_AUTHORIZATION"] = authorization(context)
    api_request = Request(http, authenticators=[TenantJWTAuthentication()])
    try:
        user = api_request.user
    except exceptions.AuthenticationFailed as error:
        # The code REST answers the same token with: token_not_valid once it has expired.
        abort(context, grpc.StatusCode.UNAUTHENTICATED, *code_and_detail(error))
    if not user or not user.is_authenticated:
        abort(
            context,
            grpc.StatusCode.UNAUTHENTICATED,
            "not_authenticated",
            "send the metadata authorization: Bearer <access token>",
        )
    return api_request


def _progress(run: CertificationRun) -> pb.RunProgress:
    results = {result.test_suite: result for result in run.results.all()}
    message = pb.RunProgress(
        run_id=run.pk,
        agent=run.version.agent.name,
        version=run.version.version,
        level=run.level,
        status=run.status,
        current_stage=run.current_stage,
        progress=run.progress,
        stages=[
            _stage(stage, state, results.get(stage)) for stage, state in run.stage_states(results)
        ],
        error_code=run.error_code,
        finished=run.is_finished,
    )
    for field in ("started_at", "finished_at"):
        moment = getattr(run, field)
        if moment is not None:
            stamp = Timestamp()
            stamp.FromDatetime(moment)
            getattr(message, field).CopyFrom(stamp)
    return message


def _stage(stage: str, state: str, result) -> pb.StageProgress:
    """A step as the portal's version page shows it (``CertificationRun.stage_states``), with
    its duration and error once recorded."""
    if result is None:
        return pb.StageProgress(stage=stage, state=state)
    return pb.StageProgress(
        stage=stage, state=state, duration_ms=result.test_duration_ms, error_code=result.error_code
    )
