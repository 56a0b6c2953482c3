"""A device refused at the REST door is refused on an open gRPC ``Report`` stream too: each
batch of the stream is authenticated as each REST request is, so a revoked device, a rotated
token or a deactivated tenant ends the stream UNAUTHENTICATED at its next batch, and that
batch is not stored (the batches before it stay stored); a stream that sends nothing is
checked again every GRPC_STREAM_CHECK_S, so it ends then and frees its slot."""

import threading

import grpc
import pytest

from billing.models import UsageEvent
from edgeplug.usage.v1 import usage_pb2_grpc
from marketplace.models import Device
from tests.conftest import changeform_data
from tests.metering.conftest import OpenStream, register_and_deploy
from tests.metering.test_grpc_usage import (  # noqa: F401 - the gRPC server and client
    batch,
    call,
    channel,
    second_device,
    status_of,
)
from tests.processes import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def _wait_until_stored(seqs: list[int]) -> None:
    """Until the server has committed these seqs (the database polled; not a clock)."""
    polled = threading.Event()
    for _ in range(3000):
        if sorted(UsageEvent.objects.values_list("seq", flat=True)) == seqs:
            return
        polled.wait(0.01)
    raise AssertionError(f"the stream's batch was never stored: wanted seqs {seqs}")


def _revoked(metered, admin_session):
    assert metered.client.post(f"/api/v1/devices/{metered.device_id}/revoke").status_code == 200


def _token_rotated(metered, admin_session):
    rotated = metered.client.post(f"/api/v1/devices/{metered.device_id}/rotate-token")
    assert rotated.status_code == 200


def _tenant_deactivated(metered, admin_session):
    staff, _ = admin_session("platform-admins", is_superuser=True)
    tenant = Device.objects.get(pk=metered.device_id).tenant
    url = f"/admin/tenancy/tenant/{tenant.pk}/change/"
    data = changeform_data(staff.get(url))
    data.pop("is_active", None)
    assert staff.post(url, data).status_code == 302
    tenant.refresh_from_db()
    assert not tenant.is_active


@pytest.mark.parametrize(
    "refuse", [_revoked, _token_rotated, _tenant_deactivated], ids=lambda refuse: refuse.__name__
)
def test_a_device_refused_mid_stream_has_its_next_batch_refused_and_not_stored(
    refuse,
    call,  # noqa: F811
    metered,
    admin_session,
):
    stream = OpenStream(*call)
    stream.send(batch(metered.heartbeat(1, metered.base), metered.heartbeat(2, metered.base)))
    _wait_until_stored([1, 2])

    refuse(metered, admin_session)
    rest = metered.send([metered.heartbeat(3, metered.base)])
    assert (rest.status_code, rest.json()["code"]) == (401, "authentication_failed")
    stream.send(batch(metered.heartbeat(3, metered.base)))
    stream.send(batch(metered.heartbeat(4, metered.base)))
    with pytest.raises(grpc.RpcError) as refused:
        stream.close()

    assert status_of(refused) == (grpc.StatusCode.UNAUTHENTICATED, "authentication_failed")
    assert sorted(UsageEvent.objects.values_list("seq", flat=True)) == [1, 2]


@pytest.fixture
def one_tenant_holds_every_stream(settings):
    # read when the servicer is built, with the server
    settings.GRPC_MAX_REPORT_STREAMS_PER_TENANT = settings.GRPC_MAX_REPORT_STREAMS


def test_a_revoked_devices_idle_streams_end_and_free_their_slots(
    one_tenant_holds_every_stream,
    call,  # noqa: F811
    channel,  # noqa: F811
    metered,
    published,
    settings,
):
    """Revoked devices' open streams that send nothing held the server's Report slots
    (GRPC_MAX_REPORT_STREAMS, 2 per process, for all tenants): every other device's stream
    was refused ``throttled: retry in 1 s`` for as long as they stayed open."""
    settings.GRPC_STREAM_CHECK_S = 0.2
    stub, auth = call
    auths = [auth, second_device(metered, published)]
    assert len(auths) == settings.GRPC_MAX_REPORT_STREAMS
    held = [OpenStream(stub, device) for device in auths]
    for seq, stream in enumerate(held, start=1):
        stream.send(batch(metered.heartbeat(seq, metered.base)))
    _wait_until_stored(list(range(1, len(held) + 1)))

    for device in Device.objects.values_list("pk", flat=True):
        assert metered.client.post(f"/api/v1/devices/{device}/revoke").status_code == 200
    try:
        assert wait_for(lambda: all(stream.future.done() for stream in held), timeout=10)
    finally:
        for stream in held:
            stream.future.cancel()
    assert [
        (stream.future.code(), dict(stream.future.trailing_metadata())["edgeplug-code"])
        for stream in held
    ] == [(grpc.StatusCode.UNAUTHENTICATED, "authentication_failed")] * len(held)

    _, other = register_and_deploy(metered.client, published, hardware_id="hw-3")
    other_auth = (("authorization", other._credentials["HTTP_AUTHORIZATION"]),)
    summary = usage_pb2_grpc.UsageServiceStub(channel).Report(
        iter([batch(metered.heartbeat(1, metered.base))]), metadata=other_auth, timeout=10
    )
    assert summary.totals.accepted == 1
