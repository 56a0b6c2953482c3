"""Hours a device ran while an entitlement was valid are taken when it reports them after the
entitlement ended (late, within USAGE_LATE_DAYS), and billed to it: an event is judged by the
entitlements valid when it started (docs/metering.md), so the month a plan is cancelled in is
billed in full, fee and hours (docs/commerce.md), whatever the tenant holds when the device
reports. Before, such hours were refused ``not_entitled`` for good, unless the tenant held
another entitlement to the agent by then: the ingest read the seats in force now."""

from datetime import UTC, datetime, timedelta

import pytest

from billing.models import UsageHour
from edgeplug.usage.v1 import usage_pb2 as pb
from marketplace.models import Deployment, Entitlement
from marketplace.orders import expire_entitlements
from tests.factories import EntitlementFactory, OrderFactory
from tests.metering.test_grpc_usage import batch, call, channel  # noqa: F401 - gRPC server, client

pytestmark = pytest.mark.django_db(transaction=True)


def _ended_at_the_month_start(metered) -> datetime:
    """The plan was cancelled last month: valid until the first instant of this one (what
    ``marketplace.cancellation`` sets), and the expiry job has run since."""
    month = datetime(metered.now.year, metered.now.month, 1, tzinfo=UTC)
    Entitlement.objects.update(valid_until=month)
    assert expire_entitlements() == 1
    return month


def _holds_another_now(metered) -> None:
    """The tenant bought the agent again an hour ago."""
    ended = Entitlement.objects.get()
    EntitlementFactory(
        order=OrderFactory(tenant=ended.tenant, plan=ended.plan),
        valid_from=metered.now - timedelta(hours=1),
    )


def _answers(reply) -> list[tuple]:
    return [(r.outcome, r.code) for r in reply.results]


@pytest.mark.parametrize("another", [False, True], ids=["alone", "holding_another_now"])
def test_hours_run_before_the_entitlement_ended_are_taken_when_reported_after(
    call,  # noqa: F811
    metered,
    another,
):
    stub, auth = call
    month = _ended_at_the_month_start(metered)
    if another:
        _holds_another_now(metered)
    # The device ran in the last hour of the month the plan was valid in, and reports it days
    # later (well within USAGE_LATE_DAYS), and then hours it ran after the plan ended.
    ran = metered.session(1, month - timedelta(hours=1), 50)
    after = metered.session(2, month + timedelta(hours=2), 10)

    reply = stub.ReportBatch(batch(ran, after), metadata=auth)

    assert _answers(reply) == [
        (pb.OUTCOME_ACCEPTED, ""),  # before: not_entitled unless another was held now
        (pb.OUTCOME_REJECTED, "not_entitled"),
    ]
    hour = month - timedelta(hours=1)
    assert dict(UsageHour.objects.values_list("hour", "seconds")) == {hour: 50 * 60}


def test_hours_of_a_deployment_removed_since_are_not_entitled(call, metered):  # noqa: F811
    """What the device runs is its deployment: once removed (as when the device is revoked),
    its hours are refused, however valid the entitlement was when it ran them."""
    stub, auth = call
    month = _ended_at_the_month_start(metered)
    Deployment.objects.filter(device=metered.device_id).delete()

    reply = stub.ReportBatch(
        batch(metered.session(1, month - timedelta(hours=1), 50)), metadata=auth
    )

    assert _answers(reply) == [(pb.OUTCOME_REJECTED, "not_entitled")]
    assert not UsageHour.objects.exists()
