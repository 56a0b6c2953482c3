"""Devices report over gRPC (a real server on loopback, a real client): the same answers as
REST, streaming batches, status codes from our error codes, health and reflection, and a
database connection killed mid-call, or reconnected to a server that cannot write, answered
UNAVAILABLE with no loss or duplicate on retry."""

import logging
import threading
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from django.conf import settings
from django.db import connection, transaction
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from rest_framework.test import APIClient

from billing import grpc_usage, usage
from billing.models import UsageEvent
from edgeplug.core.exceptions import DEVICE_CREDENTIALS_DETAIL, DEVICES_ONLY_DETAIL
from edgeplug.grpc_server import TRANSPORT_MARGIN_BYTES
from edgeplug.usage.v1 import usage_pb2 as pb
from edgeplug.usage.v1 import usage_pb2_grpc
from marketplace.models import Device, Entitlement
from tests.concurrency import wait_for_blocked_backend
from tests.faults.components import failed_over_to_a_standby
from tests.metering.conftest import (
    OpenStream,
    recomputed_rollup,
    register_and_deploy,
    stored_rollup,
)
from tests.processes import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def channel(grpc_channel):
    return grpc_channel


@pytest.fixture
def device_token(metered):
    return Device.objects.get(pk=metered.device_id), metered


def to_proto(event: dict) -> pb.UsageEvent:
    message = pb.UsageEvent(
        seq=event["seq"],
        kind=getattr(pb, f"KIND_{event['kind'].upper()}"),
        agent=event["agent"],
        version=event["version"],
    )
    for field in ("started_at", "ended_at", "at"):
        if field in event:
            stamp = Timestamp()
            stamp.FromDatetime(datetime.fromisoformat(event[field]).astimezone(UTC))
            getattr(message, field).CopyFrom(stamp)
    for field in ("inferences", "peak_arena_bytes"):
        if field in event:
            setattr(message, field, event[field])
    return message


def batch(*events) -> pb.ReportBatchRequest:
    return pb.ReportBatchRequest(events=[to_proto(e) for e in events])


@pytest.fixture
def call(channel, metered):
    stub = usage_pb2_grpc.UsageServiceStub(channel)
    token = metered.device_api._credentials["HTTP_AUTHORIZATION"]
    return stub, (("authorization", token),)


def test_report_batch_answers_like_rest(call, metered):
    stub, auth = call
    events = [metered.session(1, metered.base, 30), metered.heartbeat(2, metered.base)]
    first = stub.ReportBatch(batch(*events), metadata=auth)
    assert [r.outcome for r in first.results] == [pb.OUTCOME_ACCEPTED] * 2
    again = stub.ReportBatch(
        batch(*events, metered.heartbeat(3, metered.now.replace(year=2000))), metadata=auth
    )
    assert [(r.outcome, r.code) for r in again.results] == [
        (pb.OUTCOME_DUPLICATE, ""),
        (pb.OUTCOME_DUPLICATE, ""),
        (pb.OUTCOME_REJECTED, "too_late"),
    ]
    assert (again.totals.duplicate, again.totals.rejected) == (2, 1)
    # The tenant sees it through REST.
    day = metered.base.date()
    report = metered.client.get(f"/api/v1/usage?from={day}&to={day + timedelta(days=2)}").json()
    assert [row["seconds"] for row in report["rows"]] == [30 * 60]


def test_streamed_batches_end_in_one_summary(call, metered):
    stub, auth = call
    batches = [
        batch(*(metered.heartbeat(seq, metered.base) for seq in range(start, start + 100)))
        for start in range(1, 501, 100)
    ]
    summary = stub.Report(iter([*batches, batches[0]]), metadata=auth)
    assert (summary.totals.accepted, summary.totals.duplicate, summary.totals.rejected) == (
        500,
        100,
        0,
    )
    assert UsageEvent.objects.count() == 500


def status_of(call_result) -> tuple:
    error = call_result.value
    codes = dict(error.trailing_metadata() or ())
    return error.code(), codes.get("edgeplug-code")


@pytest.mark.parametrize(
    "sent",
    [None, "edp_000000000000_nope", "Device", "Device ", "Device edp_x_y more"],
    ids=["none", "no_word", "no_token", "blank", "two_words"],
)
def test_a_token_not_sent_as_a_device_sends_it_is_told_alike_at_both_doors(call, metered, sent):
    """REST said DRF's 'Authentication credentials were not provided.' to no header and to a
    token sent without the word Device, and 'authentication_failed' to the word alone, where
    gRPC said how to send it, or that the token was not valid."""
    stub, _ = call
    event = metered.session(1, metered.base, 10)
    header = {} if sent is None else {"HTTP_AUTHORIZATION": sent}
    rest = metered.send([event], api=APIClient(**header))
    assert (rest.status_code, rest.json()["code"]) == (401, "not_authenticated")
    assert rest.json()["detail"] == DEVICE_CREDENTIALS_DETAIL
    metadata = () if sent is None else (("authorization", sent),)
    with pytest.raises(grpc.RpcError) as refused:
        stub.ReportBatch(batch(event), metadata=metadata)
    assert status_of(refused) == (grpc.StatusCode.UNAUTHENTICATED, "not_authenticated")
    assert refused.value.details() == f"not_authenticated: {DEVICE_CREDENTIALS_DETAIL}"
    assert not UsageEvent.objects.exists()


@pytest.mark.parametrize("sent", ["Bearer eyJhbGciOi.x.y", "bearer eyJhbGciOi.x.y"])
def test_a_persons_bearer_token_is_told_alike_at_both_doors(call, metered, sent):
    """REST tells a person's Bearer token that the endpoint is for devices; gRPC told it only
    how to send a Device token."""
    stub, _ = call
    event = metered.session(1, metered.base, 10)
    rest = metered.send([event], api=APIClient(HTTP_AUTHORIZATION=sent))
    assert (rest.status_code, rest.json()["code"]) == (401, "not_authenticated")
    assert rest.json()["detail"] == DEVICES_ONLY_DETAIL
    with pytest.raises(grpc.RpcError) as refused:
        stub.ReportBatch(batch(event), metadata=(("authorization", sent),))
    assert status_of(refused) == (grpc.StatusCode.UNAUTHENTICATED, "not_authenticated")
    assert refused.value.details() == f"not_authenticated: {DEVICES_ONLY_DETAIL}"
    assert not UsageEvent.objects.exists()


@pytest.mark.parametrize("valid_first", [True, False], ids=["valid-first", "valid-last"])
def test_two_authorization_entries_are_no_credentials(call, metered, valid_first):
    """Which of two tokens a call carries is not guessed (the last one was taken): it is told
    how to send one, as a REST request whose header reads as no token is."""
    stub, auth = call
    other = ("authorization", "Device edp_000000000000_other")
    metadata = (*auth, other) if valid_first else (other, *auth)
    with pytest.raises(grpc.RpcError) as refused:
        stub.ReportBatch(batch(metered.session(1, metered.base, 10)), metadata=metadata)
    assert status_of(refused) == (grpc.StatusCode.UNAUTHENTICATED, "not_authenticated")
    assert not UsageEvent.objects.exists()


def test_errors_map_to_status_codes_and_store_nothing(call, metered):
    stub, auth = call
    event = metered.session(1, metered.base, 10)
    with pytest.raises(grpc.RpcError) as wrong:
        stub.ReportBatch(batch(event), metadata=(("authorization", "Device edp_x_y"),))
    # The codes REST answers (before: not_authenticated for both).
    assert status_of(wrong) == (grpc.StatusCode.UNAUTHENTICATED, "authentication_failed")
    with pytest.raises(grpc.RpcError) as missing:
        stub.ReportBatch(batch(event))
    assert status_of(missing) == (grpc.StatusCode.UNAUTHENTICATED, "not_authenticated")
    huge = to_proto(event)
    huge.seq = 2**64 - 1
    with pytest.raises(grpc.RpcError) as out_of_range:
        stub.ReportBatch(pb.ReportBatchRequest(events=[to_proto(event), huge]), metadata=auth)
    assert status_of(out_of_range) == (grpc.StatusCode.INVALID_ARGUMENT, "number_out_of_range")
    backwards = to_proto(event)
    backwards.started_at.seconds += 3600
    with pytest.raises(grpc.RpcError) as ended_first:
        stub.ReportBatch(pb.ReportBatchRequest(events=[backwards]), metadata=auth)
    assert status_of(ended_first) == (grpc.StatusCode.INVALID_ARGUMENT, "ended_before_started")
    too_many = pb.ReportBatchRequest(events=[to_proto(metered.heartbeat(1, metered.base))] * 1001)
    with pytest.raises(grpc.RpcError) as large:
        stub.ReportBatch(too_many, metadata=auth)
    assert status_of(large) == (grpc.StatusCode.INVALID_ARGUMENT, "batch_too_large")
    # Too many events is said first, whatever one of them holds, as REST says it.
    too_many.events[1].at.nanos = -1
    with pytest.raises(grpc.RpcError) as large:
        stub.ReportBatch(too_many, metadata=auth)
    assert status_of(large) == (grpc.StatusCode.INVALID_ARGUMENT, "batch_too_large")
    assert not UsageEvent.objects.exists()


@pytest.mark.parametrize("first_fault", ["seq", "kind"])
def test_a_batch_is_refused_at_its_first_bad_event_alike_at_both_doors(call, metered, first_fault):
    """Each door refuses a batch at its first bad event, in the order of the format's checks.
    gRPC read every event's timestamps before any other check, so a timestamp past 9999 in
    event 1 was named where REST named event 0's seq (or, in one event, its kind)."""
    stub, auth = call
    first, far = metered.session(1, metered.base, 10), metered.session(2, metered.base, 10)
    messages = [to_proto(first), to_proto(far)]
    far["started_at"] = "10000-01-01T00:00:00+00:00"
    messages[1].started_at.seconds = 253_402_300_800  # the same instant
    if first_fault == "seq":  # event 0's seq, then event 1's timestamp
        first["seq"] = messages[0].seq = 0
        events = [first, far]
    else:  # in one event, its kind before its timestamp
        far["kind"], messages[1].kind = "?", pb.KIND_UNSPECIFIED
        events, messages = [far], messages[1:]
    rest = metered.send(events).json()
    with pytest.raises(grpc.RpcError) as refused:
        stub.ReportBatch(pb.ReportBatchRequest(events=messages), metadata=auth)
    code, detail = refused.value.details().split(": ", 1)
    assert (code, detail.split(":")[0]) == (rest["code"], rest["detail"].split(":")[0])
    assert not UsageEvent.objects.exists()


@pytest.mark.parametrize(
    "batch_of", ["alone", "after_a_bad_event", "among_too_many"], ids=lambda shape: shape
)
def test_a_version_holding_nul_is_refused_first_alike_at_both_doors(call, metered, batch_of):
    """REST's reader refuses a string holding U+0000 (``nul_character``) before any check of
    the batch or its events; gRPC refused it ``invalid_event``, or named another fault first."""
    stub, auth = call
    bad = {**metered.session(2, metered.base, 10), "version": "1.0\x00"}
    events = {
        "alone": [bad],
        "after_a_bad_event": [{**metered.session(1, metered.base, 10), "seq": 0}, bad],
        "among_too_many": [bad] + [metered.heartbeat(3, metered.base)] * 1000,
    }[batch_of]
    rest = metered.send(events)
    assert (rest.status_code, rest.json()["code"]) == (400, "nul_character")
    with pytest.raises(grpc.RpcError) as refused:
        stub.ReportBatch(batch(*events), metadata=auth)
    assert status_of(refused) == (grpc.StatusCode.INVALID_ARGUMENT, "nul_character")
    assert refused.value.details() == f"nul_character: {rest.json()['detail']}"
    assert not UsageEvent.objects.exists()


def test_a_string_of_bad_utf8_is_refused_with_a_code_not_a_server_fault(channel, call, metered):
    """C encoders (nanopb) send a string's bytes unchecked: one bad byte in ``version`` is
    refused INVALID_ARGUMENT ``malformed_message``, as REST refuses such a body 400, not gRPC's
    bare INTERNAL, which a device retries forever; nothing is stored."""
    _, auth = call
    report = channel.unary_unary(  # the bytes as they are: no serializer
        f"/{pb.DESCRIPTOR.services_by_name['UsageService'].full_name}/ReportBatch",
        response_deserializer=pb.ReportBatchResponse.FromString,
    )
    good = batch(metered.session(1, metered.base, 10)).SerializeToString()
    with pytest.raises(grpc.RpcError) as bad:
        report(good.replace(b"1.0.0", b"1.0.\xff"), metadata=auth)
    assert status_of(bad) == (grpc.StatusCode.INVALID_ARGUMENT, "malformed_message")
    assert "bad UTF-8" in bad.value.details()
    assert not UsageEvent.objects.exists()
    assert report(good, metadata=auth).totals.accepted == 1  # good bytes are answered


def test_a_bad_batch_in_a_stream_is_refused_with_a_code_and_those_before_it_are_stored(
    channel, call, metered
):
    """The same bytes as the stream's second batch: INVALID_ARGUMENT ``malformed_message``,
    where the stream ended a bare INTERNAL (the interceptor left streams to gRPC's own
    deserializer); the first batch is stored, as before any refusal mid-stream."""
    _, auth = call
    report = channel.stream_unary(
        f"/{pb.DESCRIPTOR.services_by_name['UsageService'].full_name}/Report",
        response_deserializer=pb.ReportSummary.FromString,
    )
    good = batch(metered.session(1, metered.base, 10)).SerializeToString()
    bad = batch(metered.session(2, metered.base, 10)).SerializeToString()
    with pytest.raises(grpc.RpcError) as refused:
        report(iter([good, bad.replace(b"1.0.0", b"1.0.\xff")]), metadata=auth)
    assert status_of(refused) == (grpc.StatusCode.INVALID_ARGUMENT, "malformed_message")
    assert "bad UTF-8" in refused.value.details()
    assert list(UsageEvent.objects.values_list("seq", flat=True)) == [1]


def test_a_batch_larger_than_a_rest_body_is_refused_as_rest_refuses_it(call, metered):
    """Over ``API_MAX_JSON_BYTES`` (1 MiB): INVALID_ARGUMENT ``payload_too_large`` (REST: 413),
    not gRPC's own RESOURCE_EXHAUSTED, which the docs give for ``throttled``: a device must
    not wait and send the same batch again."""
    stub, auth = call
    request = _batch_of_bytes(metered, 1040)
    limit = settings.API_MAX_JSON_BYTES
    assert limit < request.ByteSize() <= limit + TRANSPORT_MARGIN_BYTES
    with pytest.raises(grpc.RpcError) as refused:
        stub.ReportBatch(request, metadata=auth)
    assert status_of(refused) == (grpc.StatusCode.INVALID_ARGUMENT, "payload_too_large")
    assert "send fewer events per batch" in refused.value.details()
    assert not UsageEvent.objects.exists()


def test_a_batch_past_the_transport_limit_is_refused_by_grpc_unread(call, metered):
    """Past ``API_MAX_JSON_BYTES`` and the transport's margin (64 KiB; it was 3 MiB, and a
    4 MiB message of empty events decoded to about 200 MiB): gRPC's own RESOURCE_EXHAUSTED,
    without our code, before the message is read."""
    stub, auth = call
    request = _batch_of_bytes(metered, 1200)
    assert request.ByteSize() > settings.API_MAX_JSON_BYTES + TRANSPORT_MARGIN_BYTES
    with pytest.raises(grpc.RpcError) as refused:
        stub.ReportBatch(request, metadata=auth)
    assert status_of(refused) == (grpc.StatusCode.RESOURCE_EXHAUSTED, None)
    assert "larger than max" in refused.value.details()
    assert not UsageEvent.objects.exists()


def _batch_of_bytes(metered, version_length: int) -> pb.ReportBatchRequest:
    events = [to_proto(metered.heartbeat(seq, metered.base)) for seq in range(1, 1001)]
    for event in events:
        event.version = "1.0.0+" + "x" * version_length
    return pb.ReportBatchRequest(events=events)


def test_an_unexpected_failure_is_internal_and_tells_the_caller_nothing_of_it(
    call, metered, monkeypatch
):
    """A fault of ours (a bug) ends the call INTERNAL ``internal_error``, as REST answers 500
    ``server_error``: not gRPC's default UNKNOWN "Exception calling application: ...", which
    hands the exception's text (a query, a path) to any caller."""

    def broken(device, events):
        raise RuntimeError("the text of a fault: /srv/edgeplug/secret.py")

    monkeypatch.setattr(usage, "record_usage_batch", broken)
    stub, auth = call
    with pytest.raises(grpc.RpcError) as failed:
        stub.ReportBatch(batch(metered.session(1, metered.base, 1)), metadata=auth)
    assert status_of(failed) == (grpc.StatusCode.INTERNAL, "internal_error")
    assert "secret" not in failed.value.details()


def test_a_stream_its_device_cancels_mid_batch_ends_quietly(call, metered, monkeypatch, caplog):
    """A device gone (or its deadline passed) while the server stores its batch: the batch is
    stored, the stream ends at the next read with gRPC's own error, and that is no fault of
    ours (logged at INFO, not as a failure with a traceback)."""
    record, authenticated = usage.record_usage_batch, grpc_usage._authenticated
    calls, storing = [], threading.Event()

    def seen(context):
        calls.append(context)
        return authenticated(context)

    def stored_once_the_device_is_gone(device, events):
        storing.set()
        # Until the server knows: a cancel that came while it waited for the next batch
        # would end the stream as if the device had closed it (nothing to log).
        assert wait_for(lambda: not calls[0].is_active()), "the cancel never arrived"
        return record(device, events)

    monkeypatch.setattr(grpc_usage, "_authenticated", seen)
    monkeypatch.setattr(usage, "record_usage_batch", stored_once_the_device_is_gone)
    caplog.set_level(logging.INFO, logger="edgeplug.grpc_server")
    stream = OpenStream(*call)
    stream.send(batch(metered.heartbeat(1, metered.base)))
    assert storing.wait(timeout=30), "the server never took the batch"
    stream.future.cancel()

    def told():
        return [r for r in caplog.records if r.name == "edgeplug.grpc_server"]

    assert wait_for(told), "the server never ended the stream"
    [ended] = told()
    assert (ended.levelname, ended.getMessage(), ended.exc_info) == (
        "INFO",
        "gRPC call /edgeplug.usage.v1.UsageService/Report ended by its client",
        None,
    )
    assert list(UsageEvent.objects.values_list("seq", flat=True)) == [1]


def test_health_and_reflection_are_served(channel):
    health = health_pb2_grpc.HealthStub(channel)
    reply = health.Check(health_pb2.HealthCheckRequest(service="edgeplug.usage.v1.UsageService"))
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
    reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
    [answer] = reflection.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")])
    )
    names = {s.name for s in answer.list_services_response.service}
    assert "edgeplug.usage.v1.UsageService" in names


def test_a_killed_database_connection_is_unavailable_and_a_retry_loses_and_repeats_nothing(
    call, metered
):
    stub, auth = call
    events = [metered.session(seq, metered.base, seq) for seq in range(1, 301)]
    batches = [batch(*events[i : i + 100]) for i in range(0, 300, 100)]
    assert stub.ReportBatch(batches[0], metadata=auth).totals.accepted == 100
    with transaction.atomic():
        # Hold the device's row so the call waits in the database, then kill its connection.
        Device.objects.select_for_update().get(pk=metered.device_id)
        future = stub.Report.future(iter(batches), metadata=auth)
        backend = wait_for_blocked_backend()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [backend])
    with pytest.raises(grpc.RpcError) as failed:
        future.result(timeout=30)
    assert failed.value.code() == grpc.StatusCode.UNAVAILABLE
    summary = stub.Report(iter(batches), metadata=auth)  # the client retries the stream
    assert (summary.totals.accepted, summary.totals.duplicate) == (200, 100)
    assert sorted(UsageEvent.objects.values_list("seq", flat=True)) == list(range(1, 301))
    assert stored_rollup() == recomputed_rollup()


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="a read-only standby is PostgreSQL's: the embedded SQLite has none",
)
def test_a_call_on_a_server_that_cannot_write_is_unavailable_and_a_retry_is_stored(call, metered):
    """After a failover to a standby (the old primary, reached through a stale name) each
    write is refused: the call answers UNAVAILABLE database_unavailable, not INTERNAL, so the
    device sends the batch again, and once the names are updated it is stored."""
    stub, auth = call
    first, second = (batch(metered.session(seq, metered.base, seq)) for seq in (1, 2))
    assert stub.ReportBatch(first, metadata=auth).totals.accepted == 1
    with failed_over_to_a_standby(), pytest.raises(grpc.RpcError) as refused:
        stub.ReportBatch(second, metadata=auth)
    assert status_of(refused) == (grpc.StatusCode.UNAVAILABLE, "database_unavailable")
    assert stub.ReportBatch(second, metadata=auth).totals.accepted == 1
    assert sorted(UsageEvent.objects.values_list("seq", flat=True)) == [1, 2]


@pytest.fixture
def one_stream(settings):
    settings.GRPC_MAX_REPORT_STREAMS = 1  # read when the servicer is built, with the server
    settings.GRPC_MAX_REPORT_STREAMS_PER_TENANT = 1


def test_open_report_streams_are_capped_and_leave_threads_for_batches(
    one_stream, channel, call, metered, published
):
    """A Report stream holds a worker thread while its device keeps it open, sending or not:
    enough of them (one device's) held every thread, and every other device's batches and the
    health check waited for ever. Past GRPC_MAX_REPORT_STREAMS a stream is refused as a
    throttled call; batches and the health check are still served, and once a stream ends
    another is taken."""
    stub, auth = call
    held = OpenStream(stub, auth)
    held.send(batch(metered.heartbeat(1, metered.base)))
    assert wait_for(UsageEvent.objects.exists)  # the server holds the stream
    other = second_device(metered, published)

    with pytest.raises(grpc.RpcError) as refused:
        stub.Report(iter([batch(metered.heartbeat(2, metered.base))]), metadata=other, timeout=10)

    assert status_of(refused) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "throttled")
    assert "Too many report streams now" in refused.value.details()
    answered = stub.ReportBatch(batch(metered.heartbeat(3, metered.base)), metadata=other)
    assert answered.totals.accepted == 1
    health = health_pb2_grpc.HealthStub(channel)
    assert health.Check(health_pb2.HealthCheckRequest(service=""), timeout=10).status == (
        health_pb2.HealthCheckResponse.SERVING
    )
    assert held.close().totals.accepted == 1
    again = stub.Report(iter([batch(metered.heartbeat(4, metered.base))]), metadata=other)
    assert again.totals.accepted == 1


def second_device(metered, published) -> tuple:
    """Another device of the metered tenant (its entitlement given a second seat): its
    call's metadata."""
    Entitlement.objects.filter(tenant__devices=metered.device_id).update(seats=2)
    _, api = register_and_deploy(metered.client, published, hardware_id="hw-2")
    return (("authorization", api._credentials["HTTP_AUTHORIZATION"]),)


def test_a_stream_summary_lists_the_first_rejected_events_and_counts_them_all(
    call, metered, monkeypatch
):
    """A stream's rejected events were all listed: a backlog of a quarter of a million made a
    summary larger than a client reads (4 MiB), and the device learnt nothing. It lists the
    first SUMMARY_REJECTED_MAX (here 3) and its totals count them all."""
    monkeypatch.setattr(grpc_usage, "SUMMARY_REJECTED_MAX", 3)
    stub, auth = call
    stranger = {"agent": metered.agent_id + 1000}  # no agent the tenant is entitled to
    batches = [
        batch(*(metered.session(seq, metered.base, 10, **stranger) for seq in (1, 2))),
        batch(metered.session(3, metered.base, 10)),
        batch(*(metered.session(seq, metered.base, 10, **stranger) for seq in (4, 5))),
    ]

    summary = stub.Report(iter(batches), metadata=auth)

    assert (summary.totals.accepted, summary.totals.rejected) == (1, 4)
    assert [outcome.seq for outcome in summary.rejected] == [1, 2, 4]
