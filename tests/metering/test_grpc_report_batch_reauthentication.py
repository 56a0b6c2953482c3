"""A ReportBatch call is authenticated again once its message has arrived, as each batch of a
Report stream is: a device revoked, its token rotated or its tenant deactivated while the
call waits for its message (up to GRPC_REQUEST_WAIT_S) has that message refused
UNAUTHENTICATED and nothing of it stored or billed. Before, the device read when the call
started recorded the batch."""

import queue

import grpc
import pytest

from billing.models import UsageEvent, UsageHour
from marketplace.models import Device
from tests.metering.test_grpc_stream_reauthentication import (
    _revoked,
    _tenant_deactivated,
    _token_rotated,
)
from tests.metering.test_grpc_usage import (  # noqa: F401 - the gRPC server and client
    batch,
    call,
    channel,
    status_of,
)
from tests.processes import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

REPORT_BATCH = "/edgeplug.usage.v1.UsageService/ReportBatch"


def _opened_without_its_message(channel, auth, device_id):  # noqa: F811 - the fixture's
    """A ReportBatch call the server has authenticated (it marks the device seen) and that
    waits for its message, as a slow device's does: the message goes when the test puts it."""
    Device.objects.filter(pk=device_id).update(last_seen_at=None)
    outbox: queue.Queue = queue.Queue()
    start = channel.stream_stream(
        REPORT_BATCH,
        request_serializer=lambda message: message.SerializeToString(),
        response_deserializer=lambda raw: raw,
    )
    pending = start(iter(outbox.get, None), metadata=auth, timeout=30)
    seen = wait_for(lambda: Device.objects.get(pk=device_id).last_seen_at is not None)
    assert seen, "the server never authenticated the call"
    return outbox, pending


@pytest.mark.parametrize(
    "refuse", [_revoked, _token_rotated, _tenant_deactivated], ids=lambda refuse: refuse.__name__
)
def test_a_batch_arriving_after_the_device_was_refused_is_not_stored(
    refuse,
    channel,  # noqa: F811
    call,  # noqa: F811
    metered,
    admin_session,
):
    _, auth = call
    outbox, pending = _opened_without_its_message(channel, auth, metered.device_id)

    refuse(metered, admin_session)
    rest = metered.send([metered.session(9, metered.base, 10)])
    assert (rest.status_code, rest.json()["code"]) == (401, "authentication_failed")
    outbox.put(batch(metered.session(1, metered.base, 30)))
    outbox.put(None)
    with pytest.raises(grpc.RpcError) as refused:
        list(pending)

    assert status_of(refused) == (grpc.StatusCode.UNAUTHENTICATED, "authentication_failed")
    assert not UsageEvent.objects.exists()  # before: stored
    assert not UsageHour.objects.exists()  # and billed


def test_a_batch_of_a_device_still_allowed_is_stored_when_its_message_comes_late(
    channel,  # noqa: F811
    call,  # noqa: F811
    metered,
):
    _, auth = call
    outbox, pending = _opened_without_its_message(channel, auth, metered.device_id)

    outbox.put(batch(metered.session(1, metered.base, 30)))
    outbox.put(None)

    assert len(list(pending)) == 1
    assert UsageHour.objects.get().seconds == 30 * 60
