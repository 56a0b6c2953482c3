"""A call whose request message never comes does not hold the server's threads: gRPC hands a
call of one request to a worker thread at once, and that thread waited there for the message,
as long as the client liked, before our servicer (and its token check) ran. Eight such calls
from a client with no token at all (GRPC_MAX_WORKERS) held every thread, and the health check
the Kubernetes probes use and every device's ReportBatch waited past their deadline. Now the
caller is checked before the message is read, and a device's message is waited for at most
GRPC_REQUEST_WAIT_S."""

import contextlib
import threading

import grpc
import pytest
from django.conf import settings
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.metering.test_grpc_usage import batch, call, channel  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

REPORT_BATCH = "/edgeplug.usage.v1.UsageService/ReportBatch"
WATCH_RUN = "/edgeplug.certification.v1.CertificationService/WatchRun"


@contextlib.contextmanager
def _half_open(channel, method: str, metadata=()):  # noqa: F811
    """GRPC_MAX_WORKERS calls of ``method`` that send their headers and never their message."""
    release = threading.Event()

    def never_sends():
        release.wait()
        return
        yield

    start = channel.stream_stream(
        method, request_serializer=lambda raw: raw, response_deserializer=lambda raw: raw
    )
    calls = [
        start(never_sends(), metadata=metadata, timeout=15)
        for _ in range(settings.GRPC_MAX_WORKERS)
    ]
    try:
        yield calls
    finally:
        release.set()
        for each in calls:
            each.cancel()


def _ended(each) -> tuple:
    """How the call ended (at the latest its deadline: DEADLINE_EXCEEDED without our code)."""
    error = each.exception()
    return error.code(), dict(error.trailing_metadata() or ()).get("edgeplug-code")


def _others_are_served(channel, call, metered) -> None:  # noqa: F811
    stub, auth = call
    health = health_pb2_grpc.HealthStub(channel)
    status = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5).status
    assert status == health_pb2.HealthCheckResponse.SERVING
    answered = stub.ReportBatch(batch(metered.heartbeat(1, metered.base)), metadata=auth, timeout=5)
    assert answered.totals.accepted == 1


@pytest.mark.parametrize("method", [REPORT_BATCH, WATCH_RUN], ids=["ReportBatch", "WatchRun"])
def test_calls_with_no_token_that_never_send_their_message_are_refused_at_once(
    channel,  # noqa: F811
    call,  # noqa: F811
    metered,
    method,
):
    with _half_open(channel, method) as calls:
        assert {_ended(each) for each in calls} == {
            (grpc.StatusCode.UNAUTHENTICATED, "not_authenticated")
        }
        _others_are_served(channel, call, metered)


def test_a_devices_call_whose_message_never_comes_ends_after_the_wait(
    channel,  # noqa: F811
    call,  # noqa: F811
    metered,
    settings,
):
    settings.GRPC_REQUEST_WAIT_S = 0.5
    _, auth = call
    with _half_open(channel, REPORT_BATCH, metadata=auth) as calls:
        assert {_ended(each) for each in calls} == {
            (grpc.StatusCode.DEADLINE_EXCEEDED, "request_timeout")
        }
        _others_are_served(channel, call, metered)
