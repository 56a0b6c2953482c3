"""What a caller sends cannot take the gRPC server past its pod's memory (1 GiB,
deploy/k8s/base/grpc.yaml, one server process per pod). A ReportBatch message of empty
UsageEvents is 2 bytes an event on the wire and about 100 bytes decoded: the transport took
4 MiB (4 x API_MAX_JSON_BYTES), about 200 MiB decoded, and the server decoded it before the
token was looked at and before the batch's size or event count was. 256 such calls with no
token took a server from 131 to 1,530 MiB; from a device, every worker thread held one."""

import concurrent.futures
from pathlib import Path

import grpc
import pytest

from tests.gunicorn_server import database_url_for_test_db
from tests.metering.test_grpcserver_command import _serving_port, _start, _stopped

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

POD_LIMIT_MIB = 1024  # deploy/k8s/base/grpc.yaml: limits.memory 1Gi
REPORT_BATCH = "/edgeplug.usage.v1.UsageService/ReportBatch"


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def _empty_events(size: int) -> bytes:
    """A ReportBatchRequest of ``size`` bytes at most, all empty events (2 bytes each)."""
    return b"\x0a\x00" * (size // 2)


def _sent_at_once(calls: int, body: bytes, metadata=(), **env) -> tuple[set, float, float]:
    """``calls`` ReportBatch calls of ``body`` at once to a ``manage.py grpcserver`` (its
    environment plus ``env``): how they ended (status, edgeplug-code), and the server's
    resident memory before and at its peak."""
    proc = _start("--address", "127.0.0.1:0", DATABASE_URL=database_url_for_test_db(), **env)
    try:
        port = _serving_port(proc)
        before = _peak_rss_mib(proc.pid)
        with grpc.insecure_channel(
            f"127.0.0.1:{port}", options=[("grpc.max_send_message_length", 8 << 20)]
        ) as channel:
            call = channel.unary_unary(
                REPORT_BATCH, request_serializer=lambda raw: raw, response_deserializer=lambda r: r
            )

            def one(_):
                try:
                    call(body, metadata=metadata, timeout=120)
                except grpc.RpcError as error:
                    return error.code(), dict(error.trailing_metadata() or ()).get("edgeplug-code")
                return "answered", None

            with concurrent.futures.ThreadPoolExecutor(calls) as pool:
                ended = set(pool.map(one, range(calls)))
        peak = _peak_rss_mib(proc.pid)
    finally:
        _stopped(proc)
    return ended, before, peak


def test_calls_with_no_token_do_not_take_the_server_past_its_memory_limit():
    ended, before, peak = _sent_at_once(256, _empty_events(4 << 20))
    assert ended == {(grpc.StatusCode.UNAUTHENTICATED, "not_authenticated")}
    assert peak < POD_LIMIT_MIB, f"peak RSS {peak:.0f} MiB (from {before:.0f} MiB)"


@pytest.mark.parametrize("size", [1 << 20, 4 << 20], ids=["1MiB", "4MiB"])
def test_a_devices_batches_of_empty_events_do_not_take_the_server_past_its_memory_limit(
    metered, size
):
    """Refused (payload_too_large, batch_too_large, or by the transport past its limit),
    without the server holding one decoded per thread: what it holds must not grow with the
    threads an operator gives it (32 here)."""
    auth = (("authorization", metered.device_api._credentials["HTTP_AUTHORIZATION"]),)
    ended, before, peak = _sent_at_once(
        64, _empty_events(size), metadata=auth, GRPC_MAX_WORKERS="32"
    )
    assert ended <= {
        (grpc.StatusCode.INVALID_ARGUMENT, "batch_too_large"),
        (grpc.StatusCode.INVALID_ARGUMENT, "payload_too_large"),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, None),  # the transport: larger than max
    }, ended
    assert peak < POD_LIMIT_MIB, f"peak RSS {peak:.0f} MiB (from {before:.0f} MiB)"
