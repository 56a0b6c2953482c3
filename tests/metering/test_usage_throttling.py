"""Each device has its own budget of usage reports (THROTTLE_DEVICE), shared by REST and
gRPC: over it, REST answers 429 with Retry-After and gRPC RESOURCE_EXHAUSTED with the standard
RetryInfo detail; nothing of the refused call is stored and other devices are not slowed."""

import grpc
import pytest
from django.core.cache import cache
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from billing.models import UsageEvent
from edgeplug.usage.v1 import usage_pb2_grpc
from marketplace.models import Entitlement
from tests.metering.conftest import register_and_deploy
from tests.metering.test_grpc_usage import batch, channel  # noqa: F401 - the gRPC server

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def budget_of_three(settings):
    rates = dict(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], device="3/min")
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}


@pytest.fixture
def stub(channel):  # noqa: F811
    return usage_pb2_grpc.UsageServiceStub(channel)


def auth_of(api) -> tuple:
    return (("authorization", api._credentials["HTTP_AUTHORIZATION"]),)


def test_grpc_calls_over_the_budget_are_resource_exhausted_with_retry_info(
    budget_of_three, stub, metered
):
    auth = auth_of(metered.device_api)
    for seq in (1, 2, 3):
        assert stub.ReportBatch(batch(metered.heartbeat(seq, metered.base)), metadata=auth)
    with pytest.raises(grpc.RpcError) as refused:
        stub.ReportBatch(batch(metered.heartbeat(4, metered.base)), metadata=auth)

    error = refused.value
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    trailers = dict(error.trailing_metadata())
    assert trailers["edgeplug-code"] == "throttled"
    assert 0 < int(trailers["retry-after"]) <= 60
    status = rpc_status.from_call(error)
    [detail] = status.details
    info = error_details_pb2.RetryInfo()
    assert detail.Unpack(info)
    assert info.retry_delay.seconds == int(trailers["retry-after"])
    assert sorted(UsageEvent.objects.values_list("seq", flat=True)) == [1, 2, 3]


def test_every_streamed_batch_counts_and_the_stream_stops_at_the_budget(
    budget_of_three, stub, metered
):
    auth = auth_of(metered.device_api)
    batches = [batch(metered.heartbeat(seq, metered.base)) for seq in range(1, 6)]
    with pytest.raises(grpc.RpcError) as refused:
        stub.Report(iter(batches), metadata=auth)
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    # The batches before the refusal are stored; a resend later answers them duplicate.
    assert sorted(UsageEvent.objects.values_list("seq", flat=True)) == [1, 2, 3]


def test_rest_and_grpc_share_the_budget_and_other_devices_keep_theirs(
    budget_of_three, stub, metered, published
):
    auth = auth_of(metered.device_api)
    assert metered.send([metered.heartbeat(1, metered.base)]).status_code == 200
    assert metered.send([metered.heartbeat(2, metered.base)]).status_code == 200
    assert stub.ReportBatch(batch(metered.heartbeat(3, metered.base)), metadata=auth)
    refused = metered.send([metered.heartbeat(4, metered.base)])
    assert refused.status_code == 429
    assert refused.json()["code"] == "throttled"
    assert int(refused["Retry-After"]) > 0

    Entitlement.objects.update(seats=2)
    _, other = register_and_deploy(metered.client, published, hardware_id="hw-2")
    other_auth = auth_of(other)
    answer = stub.ReportBatch(batch(metered.heartbeat(1, metered.base)), metadata=other_auth)
    assert answer.totals.accepted == 1
    assert metered.send([metered.heartbeat(2, metered.base)], api=other).status_code == 200


def test_a_device_polling_its_assignments_spends_its_own_budget_not_its_tenants(
    settings, metered, published
):
    """Before: device-token reads drew on the tenant's budget (THROTTLE_TENANT), so a fleet
    polling its assignments locked the tenant's other devices and its people out."""
    Entitlement.objects.update(seats=2)
    _, other = register_and_deploy(metered.client, published, hardware_id="hw-2")
    cache.clear()  # the set-up's requests spent nothing below
    rates = dict(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], tenant="3/min", device="5/min")
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    polls = [metered.device_api.get("/api/v1/device/assignments").status_code for _ in range(6)]
    assert polls == [200] * 5 + [429]  # its own budget
    assert other.get("/api/v1/device/assignments").status_code == 200
    assert metered.client.get("/api/v1/devices").status_code == 200
