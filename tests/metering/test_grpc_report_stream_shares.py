"""The Report stream slots of a server process (GRPC_MAX_REPORT_STREAMS, 2 by default, for
every tenant) are shared: one stream per device, where a device's new stream replaces its
older one (a device reconnecting after a network blip while the server still holds its old
stream), and at most GRPC_MAX_REPORT_STREAMS_PER_TENANT of one tenant's devices. Until
2026-12-07 one device, or one tenant's devices, could hold every slot with streams kept open
without sending, and every other device's stream was refused ``throttled`` for as long as
they stayed open (a real server on loopback, real clients)."""

from datetime import timedelta

import grpc
import pytest
from django.conf import settings

from billing.models import UsageEvent
from edgeplug.usage.v1 import usage_pb2_grpc
from marketplace.models import Entitlement
from tests.commerce.conftest import place_order
from tests.metering.conftest import OpenStream, register_and_deploy
from tests.metering.test_grpc_usage import (  # noqa: F401 - the gRPC server and client
    batch,
    call,
    channel,
    status_of,
)
from tests.processes import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def _auth(device_api) -> tuple:
    return (("authorization", device_api._credentials["HTTP_AUTHORIZATION"]),)


def _stored(*seqs) -> bool:
    return sorted(UsageEvent.objects.values_list("seq", flat=True)) == sorted(seqs)


@pytest.fixture
def other_tenants_device(member_client, agent, published, metered):
    """Another tenant's device, entitled to the same agent: its Report call's metadata."""
    client, membership = member_client("admin")
    ordered = place_order(client, agent, agent.plans.get(key="free-plan"), "other-tenant-order")
    assert ordered.status_code == 201, ordered.json()
    Entitlement.objects.filter(tenant=membership.tenant).update(
        valid_from=metered.now - timedelta(days=settings.USAGE_LATE_DAYS + 1)
    )
    _, device_api = register_and_deploy(client, published, hardware_id="other-hw")
    return _auth(device_api)


@pytest.fixture
def one_stream(settings):
    settings.GRPC_MAX_REPORT_STREAMS = 1  # read when the servicer is built, with the server
    settings.GRPC_MAX_REPORT_STREAMS_PER_TENANT = 1


@pytest.fixture
def slow_checks(settings):
    # A replaced stream ends at once, not at its next check of its device.
    settings.GRPC_STREAM_CHECK_S = 600


def test_a_devices_new_stream_replaces_its_older_one_at_once(
    one_stream,
    slow_checks,
    call,  # noqa: F811
    metered,
):
    """With every slot held by the device's own old stream (the server has not yet seen that
    connection die), the device's new stream is taken; the old one ends ABORTED
    ``stream_replaced`` at once, its thread free, the batches it sent before stored."""
    stub, auth = call
    old = OpenStream(stub, auth)
    old.send(batch(metered.heartbeat(1, metered.base)))
    assert wait_for(lambda: _stored(1))

    new = OpenStream(stub, auth)
    new.send(batch(metered.heartbeat(2, metered.base)))

    assert wait_for(old.future.done, timeout=10)
    assert status_of_future(old.future) == (grpc.StatusCode.ABORTED, "stream_replaced")
    assert "another Report stream" in old.future.details()
    summary = new.close()
    assert summary.totals.accepted == 1
    assert _stored(1, 2)


def test_one_tenants_devices_hold_at_most_their_share_of_the_streams(
    call,  # noqa: F811
    channel,  # noqa: F811
    metered,
    published,
    other_tenants_device,
):
    """Two slots (the default), one a tenant (the default, half of them): the tenant's second
    device is refused ``throttled``, saying the share is its tenant's, while another tenant's
    device is served; once the first stream ends, the second device is served."""
    assert (settings.GRPC_MAX_REPORT_STREAMS, settings.GRPC_MAX_REPORT_STREAMS_PER_TENANT) == (
        2,
        1,
    )
    stub, auth = call
    held = OpenStream(stub, auth)
    held.send(batch(metered.heartbeat(1, metered.base)))
    assert wait_for(lambda: _stored(1))
    Entitlement.objects.filter(tenant__devices=metered.device_id).update(seats=2)
    _, second_api = register_and_deploy(metered.client, published, hardware_id="hw-2")

    with pytest.raises(grpc.RpcError) as refused:
        stub.Report(iter([batch(metered.heartbeat(2, metered.base))]), metadata=_auth(second_api))

    assert status_of(refused) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "throttled")
    assert "your tenant's devices" in refused.value.details()
    other = usage_pb2_grpc.UsageServiceStub(channel).Report(
        iter([batch(metered.heartbeat(1, metered.base))]), metadata=other_tenants_device
    )
    assert other.totals.accepted == 1
    assert held.close().totals.accepted == 1
    again = stub.Report(
        iter([batch(metered.heartbeat(2, metered.base))]), metadata=_auth(second_api)
    )
    assert again.totals.accepted == 1


def test_a_stream_without_a_devices_token_is_refused_before_taking_a_slot(
    one_stream,
    call,  # noqa: F811
    metered,
):
    """The caller is checked before a slot is taken: a forged token is UNAUTHENTICATED even
    when every slot is held (it was told ``throttled``, as if it could retry)."""
    stub, auth = call
    held = OpenStream(stub, auth)
    held.send(batch(metered.heartbeat(1, metered.base)))
    assert wait_for(lambda: _stored(1))

    with pytest.raises(grpc.RpcError) as refused:
        stub.Report(iter([]), metadata=(("authorization", "Device forged"),), timeout=10)

    assert status_of(refused) == (grpc.StatusCode.UNAUTHENTICATED, "authentication_failed")
    assert held.close().totals.accepted == 1


def status_of_future(future) -> tuple:
    return future.code(), dict(future.trailing_metadata() or ()).get("edgeplug-code")
