"""gRPC door of usage reporting (edgeplug.usage.v1.UsageService): the device token from the
``authorization`` metadata, checked before a request message is read and again once it has
arrived, then the same parse and action as POST /api/v1/usage/events."""

import contextlib
import itertools
import threading
from datetime import UTC, datetime, timedelta

import grpc
from django.conf import settings

from billing import usage
from billing.errors import DeviceThrottled, MessageTooLarge
from billing.usage_format import (
    KIND_FIELDS,
    MAX_INT,
    MAX_VERSION_LENGTH,
    EventIn,
    OutOfRange,
    parse_batch,
    refuse_too_many,
)
from edgeplug.core.exceptions import device_credentials_detail, device_token, device_words
from edgeplug.core.throttling import device_wait
from edgeplug.grpc_requests import PolledRequests, one_request
from edgeplug.grpc_server import abort, add_service, authorization, django_call, too_many
from edgeplug.text import refuse_nul
from edgeplug.usage.v1 import usage_pb2 as pb
from edgeplug.usage.v1 import usage_pb2_grpc
from marketplace.devices import UNKNOWN_DEVICE_MESSAGE, device_for_token, touch
from marketplace.models import Device

_KINDS = {
    pb.KIND_SESSION: "session",
    pb.KIND_INFERENCES: "inferences",
    pb.KIND_HEARTBEAT: "heartbeat",
}
# The range of google.protobuf.Timestamp: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
_MIN_SECONDS, _MAX_SECONDS = -62_135_596_800, 253_402_300_799
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_OPTIONAL = frozenset({"started_at", "ended_at", "at", "inferences", "peak_arena_bytes"})
# Per kind code: its name, the fields an event must set, and those it must not set.
_PRESENCE = {
    code: (kind, tuple(required), tuple(_OPTIONAL - required - optional))
    for code, kind in _KINDS.items()
    for required, optional in [KIND_FIELDS[kind]]
}
_OUTCOMES = {
    usage.ACCEPTED: pb.OUTCOME_ACCEPTED,
    usage.DUPLICATE: pb.OUTCOME_DUPLICATE,
    usage.REJECTED: pb.OUTCOME_REJECTED,
}


_SERVICE = pb.DESCRIPTOR.services_by_name["UsageService"]
SERVICE = _SERVICE.full_name
# A Report summary lists at most this many rejected events (the first ones; its totals count
# them all): a stream's are unbounded, and past about 220,000 the summary outgrew the 4 MiB a
# client reads, so a device replaying a long backlog learnt nothing and resent it for ever.
SUMMARY_REJECTED_MAX = 1000


def register(server: grpc.Server) -> list[str]:
    decoders = dict.fromkeys(("ReportBatch", "Report"), _batch)
    return [add_service(server, UsageServicer(), _SERVICE, decoders=decoders)]


def _batch(data: bytes) -> pb.ReportBatchRequest:
    """A batch from its bytes, refused as the REST door refuses a body: larger than a REST
    body may be before it is decoded (``payload_too_large``); once it is, a string holding
    U+0000 (``nul_character``, as REST's reader refuses it before any check of the batch),
    then more events than a batch holds (``batch_too_large``). gRPC decodes a message on its
    one thread that reads them, so such a batch is dropped there, one at a time, where a
    worker thread held each until it looked: empty events are 2 bytes on the wire and about
    100 decoded."""
    if len(data) > settings.API_MAX_JSON_BYTES:
        raise MessageTooLarge(
            f"The batch is {len(data)} bytes; at most {settings.API_MAX_JSON_BYTES} are taken: "
            "send fewer events per batch."
        )
    request = pb.ReportBatchRequest.FromString(data)
    # Its only strings; named as REST's reader names the body field holding it.
    refuse_nul([event.version for event in request.events], field="events")
    refuse_too_many(len(request.events))
    return request


class _Stream:
    """An open Report stream: its device's, its tenant's, and its reading of the requests."""

    def __init__(self, device: Device, polled: PolledRequests) -> None:
        self.device_id, self.tenant_id, self.polled = device.pk, device.tenant_id, polled
        self.replaced = False


class ReportStreams:
    """The Report streams open in this server process, each holding a worker thread as long as
    its device keeps it open, batches or none: at most GRPC_MAX_REPORT_STREAMS at once, at most
    GRPC_MAX_REPORT_STREAMS_PER_TENANT of one tenant's devices, and one a device. A device's
    new stream replaces its older one, which ends at once (a device reconnecting after a
    network blip, while the server still holds its old stream, is not refused by itself)."""

    def __init__(self) -> None:
        self._total = settings.GRPC_MAX_REPORT_STREAMS
        self._per_tenant = settings.GRPC_MAX_REPORT_STREAMS_PER_TENANT
        self._lock = threading.Lock()
        self._open: dict[int, _Stream] = {}  # by device

    @contextlib.contextmanager
    def held(self, stream: _Stream):
        """The block, ``stream`` holding its device's slot; none free, the call is refused as
        every throttled call is (RESOURCE_EXHAUSTED ``throttled``, RetryInfo 1 s)."""
        refusal = self._take(stream)
        if refusal is not None:
            raise too_many(refusal, retry_s=1)
        try:
            yield
        finally:
            with self._lock:
                if self._open.get(stream.device_id) is stream:
                    del self._open[stream.device_id]

    def _take(self, stream: _Stream) -> str | None:
        """None once ``stream`` holds its device's slot, else which streams are too many."""
        with self._lock:
            older = self._open.get(stream.device_id)
            if older is not None:
                older.replaced = True
                older.polled.wake()
            elif len(self._open) >= self._total:
                return "report streams"
            elif self._per_tenant <= sum(
                1 for other in self._open.values() if other.tenant_id == stream.tenant_id
            ):
                return "report streams of your tenant's devices"
            self._open[stream.device_id] = stream
            return None


class UsageServicer(usage_pb2_grpc.UsageServiceServicer):
    def __init__(self):
        self._streams = ReportStreams()

    def ReportBatch(self, requests, context):
        """``requests``: the call's stream of its one message (``add_service``), read once the
        device is authenticated and within its budget, so a call without a device's token
        holds no thread waiting for a message and has none decoded; the device is
        authenticated again once the message has arrived (``_authenticated``)."""
        with django_call(context, f"/{SERVICE}/ReportBatch") as call:
            device = _device(context)
            call.tenant = device.tenant
            _throttle(device)
            request = one_request(requests, context)
            # Authenticated again once the message is here, as each batch of a Report stream
            # is: a device revoked, its token rotated or its tenant deactivated while the call
            # waited for it (up to GRPC_REQUEST_WAIT_S) has it refused, nothing stored.
            device = _authenticated(context)
            result = usage.record_usage_batch(device, _events(request))
            return pb.ReportBatchResponse(
                results=[_outcome(o) for o in result.outcomes], totals=pb.Totals(**result.totals)
            )

    def Report(self, request_iterator, context):
        """A stream of batches, its device checked before it takes a slot (``ReportStreams``:
        past the caps it is refused, and the device can send its batches as ReportBatch calls,
        each holding a thread only while it lasts) and again at each batch."""
        with django_call(context, f"/{SERVICE}/Report") as call:
            device = _device(context)
            call.tenant = device.tenant
            polled = PolledRequests(request_iterator, settings.GRPC_STREAM_CHECK_S)
            stream = _Stream(device, polled)
            with contextlib.closing(polled), self._streams.held(stream):
                return _report(stream, context, call)


def _report(stream: _Stream, context, call) -> pb.ReportSummary:
    totals = dict.fromkeys(usage.OUTCOMES, 0)
    rejected = []
    for request in stream.polled:
        if stream.replaced:
            abort(
                context,
                grpc.StatusCode.ABORTED,
                "stream_replaced",
                "This device opened another Report stream, which replaces this one: "
                "the batches this stream sent before are stored, send the rest on the new one.",
            )
        # Each batch is authenticated again, as REST authenticates each request, and so is
        # the stream each GRPC_STREAM_CHECK_S it sends none (``request`` None): a device
        # revoked, its token rotated or its tenant deactivated while the stream is open is
        # refused at its next batch (the batches before stay stored), or within that while
        # it sends nothing, which frees its slot.
        device = _authenticated(context)
        call.tenant = device.tenant
        if request is None:
            continue
        _throttle(device)  # every batch of the stream counts, as one REST request
        result = usage.record_usage_batch(device, _events(request))
        for key, count in result.totals.items():
            totals[key] += count
        room = SUMMARY_REJECTED_MAX - len(rejected)
        refused = (o for o in result.outcomes if o.outcome == usage.REJECTED)
        rejected += [_outcome(o) for o in itertools.islice(refused, max(room, 0))]
    return pb.ReportSummary(totals=pb.Totals(**totals), rejected=rejected)


def _device(context: grpc.ServicerContext) -> Device:
    """The call's device, marked seen; the call is aborted UNAUTHENTICATED without one."""
    device = _authenticated(context)
    touch(device)
    return device


def _authenticated(context: grpc.ServicerContext) -> Device:
    """The active device of the call's token now, its header read and the token looked up as
    the REST door does them (``device_words``, ``device_token``, ``device_for_token``: one
    indexed query); the call is aborted UNAUTHENTICATED without one."""
    sent = authorization(context).encode("latin-1", errors="replace")
    words = device_words(sent)
    if words is None or (token := device_token(words)) is None:
        code, detail = "not_authenticated", device_credentials_detail(sent)  # as REST says
    elif (device := device_for_token(token)) is None:
        code, detail = "authentication_failed", UNKNOWN_DEVICE_MESSAGE  # as REST says
    else:
        return device
    abort(context, grpc.StatusCode.UNAUTHENTICATED, code, detail)


def _throttle(device: Device) -> None:
    wait = device_wait(device)
    if wait is not None:
        raise DeviceThrottled(wait)


def _outcome(outcome: usage.Outcome) -> pb.EventOutcome:
    return pb.EventOutcome(seq=outcome.seq, outcome=_OUTCOMES[outcome.outcome], code=outcome.code)


def _events(request: pb.ReportBatchRequest) -> list[EventIn]:
    """The request's events (its size and count checked as it was decoded, ``_batch``): read
    straight from the messages when the batch is well formed, else through ``parse_batch`` as
    the REST door does, which refuses it with its code."""
    events = _well_formed(request.events)
    return events if events is not None else parse_batch(_as_batch(request))


def _well_formed(messages) -> list[EventIn] | None:
    """The events of a batch ``parse_batch`` would accept as it is, made without the JSON-shaped
    dicts; None for any other batch."""
    events = []
    for event in messages:
        shape = _PRESENCE.get(event.kind)
        if shape is None:
            return None
        kind, required, absent = shape
        has = event.HasField
        if not all(map(has, required)) or any(map(has, absent)):
            return None
        seq, agent, version = event.seq, event.agent, event.version
        if not (0 < seq <= MAX_INT and agent > 0 and 0 < len(version) <= MAX_VERSION_LENGTH):
            return None
        if "\x00" in version:
            return None
        if kind == "heartbeat":
            started_at = ended_at = _utc(event.at)
        else:
            started_at, ended_at = _utc(event.started_at), _utc(event.ended_at)
            if started_at is None or ended_at is None or ended_at < started_at:
                return None
        if started_at is None:
            return None
        inferences = event.inferences if has("inferences") else None
        peak = event.peak_arena_bytes if has("peak_arena_bytes") else None
        if (inferences or 0) > MAX_INT or (peak or 0) > MAX_INT:
            return None
        events.append(EventIn(seq, kind, agent, version, started_at, ended_at, inferences, peak))
    return events


def _utc(stamp) -> datetime | None:
    """A ``Timestamp`` as a UTC datetime, None out of range (``Timestamp.ToDatetime(tzinfo=UTC)``
    without its per-call overhead: a batch holds up to 2,000 timestamps)."""
    seconds, nanos = stamp.seconds, stamp.nanos
    if not (_MIN_SECONDS <= seconds <= _MAX_SECONDS and 0 <= nanos < 1_000_000_000):
        return None
    # timedelta(days, seconds, microseconds) by position: twice as fast as with keywords or
    # datetime.fromtimestamp, and exact over the whole range.
    return _EPOCH + timedelta(0, seconds, nanos // 1000)


def _as_batch(request: pb.ReportBatchRequest) -> dict:
    """The batch in the JSON shape ``parse_batch`` validates, so both doors refuse alike
    (timestamps as UTC datetimes, which ``parse_batch`` takes as they are)."""
    return {"events": [_as_event(event) for event in request.events]}


def _as_event(event: pb.UsageEvent) -> dict:
    raw = {
        "seq": event.seq,
        "kind": _KINDS.get(event.kind),
        "agent": event.agent,
        "version": event.version,
    }
    for field in ("started_at", "ended_at", "at"):
        if event.HasField(field):
            raw[field] = _utc(getattr(event, field)) or OutOfRange()
    for field in ("inferences", "peak_arena_bytes"):
        if event.HasField(field):
            raw[field] = getattr(event, field)
    return raw
