"""A device refused at the REST door is refused on an open gRPC ``Report`` stream too: each
batch of the stream is authenticated as each REST request is, so a revoked device, a rotated
token or a deactivated tenant ends the stream UNAUTHENTICATED at its next batch, and that
batch is not stored (the batches before it stay stored)."""

import threading

import grpc
import pytest

from billing.models import UsageEvent
from marketplace.models import Device
from tests.conftest import changeform_data
from tests.metering.conftest import OpenStream
from tests.metering.test_grpc_usage import (  # noqa: F401 - the gRPC server and client
    batch,
    call,
    channel,
    status_of,
)

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
