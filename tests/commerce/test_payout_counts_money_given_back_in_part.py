"""The vendor's payout counts what was given back of an order in part in the month it was
given back: a refund made in Stripe's dashboard, a dispute lost in part. Then a refund in full
counts only the rest, so the order is counted back once, at its price.

The defect this covers: a payout counted an order refunded in part as if nothing were given
back until it was refunded in full (never, for most), so the vendor was paid their share and
the platform's on money the customer had got back."""

import csv
import io
from datetime import timedelta

import pytest
import time_machine

from billing import invoicing
from billing.models import Invoice
from billing.periods import month_label, month_start, next_month, previous_month
from marketplace.models import Order
from tests.commerce.conftest import admin_client, refund_in_admin, stripe_client
from tests.commerce.test_order_disputes import disputed
from tests.commerce.test_order_refunded_in_part_in_stripe import (  # noqa: F401
    order,
    refund_failed,
    refunded_in_dashboard,
    refunded_of,
)
from tests.invoicing.conftest import Customer

pytestmark = pytest.mark.django_db

STATEMENT = "/api/v1/vendor/payouts"


@pytest.fixture
def invoiced(order, member_client):  # noqa: F811
    """The 10.00 USD order paid last month, whose invoice is finalized (a month is finalized
    once it has ended); the vendor's billing member reads the statements."""
    Customer(order.tenant, vendor=None).account(currency="USD", tax_rate="0.00")
    last = previous_month(month_start(order.completed_at))
    Order.objects.filter(pk=order.pk).update(completed_at=last)
    (pk,) = invoicing.close_billing_period(last).created
    invoicing.finalize_invoice(Invoice.objects.get(pk=pk))
    vendor_client, _ = member_client("billing", tenant=order.agent.tenant)
    return vendor_client, last, month_start(order.created_at)


def payouts(client, month) -> tuple[list, list]:
    response = client.get(f"{STATEMENT}/{month_label(month)}")
    assert response.status_code == 200, response.content
    body = response.json()
    sums = [(p["currency"], p["gross"], p["refunds"], p["net"]) for p in body["payouts"]]
    agents = [(a["gross"], a["refunds"]) for a in body["agents"]]
    return sums, agents


def statement_csv(client, month) -> tuple[list[tuple], dict[str, int]]:
    response = client.get(f"{STATEMENT}/{month_label(month)}.csv")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    lines = [(r["record"], r["line_kind"], int(r["amount_minor"])) for r in rows if r["document"]]
    sums = {r["record"]: int(r["amount_minor"]) for r in rows if not r["document"]}
    return lines, sums


def test_a_refund_in_part_counts_in_the_month_it_was_given(invoiced, api, order):  # noqa: F811
    vendor, last, this = invoiced
    refunded_in_dashboard(api, order, 600, "evt_part")

    assert payouts(vendor, last) == ([("USD", 1000, 0, 800)], [(1000, 0)])  # as it was
    assert payouts(vendor, this) == ([("USD", 0, 600, -480)], [(0, 600)])
    lines, sums = statement_csv(vendor, this)
    assert lines == [("refund", "order_refunded_in_part", 600)]
    assert (sums["gross"], sums["refunds"], sums["net"]) == (0, 600, -480)


def test_a_dispute_lost_in_part_counts_as_a_refund(invoiced, api, order):  # noqa: F811
    vendor, _, this = invoiced
    disputed(api, order, "evt_lost", "charge.dispute.closed", "lost", 300)

    assert payouts(vendor, this) == ([("USD", 0, 300, -240)], [(0, 300)])


def test_a_refund_in_full_after_one_in_part_counts_only_the_rest(invoiced, api, order):  # noqa: F811
    vendor, _, this = invoiced
    refunded_in_dashboard(api, order, 600, "evt_part")
    finance, _ = admin_client("finance")

    refund_in_admin(finance, order.pk)

    assert Order.objects.get(pk=order.pk).status == "refunded"
    assert payouts(vendor, this) == ([("USD", 0, 1000, -800)], [(0, 1000)])
    lines, sums = statement_csv(vendor, this)
    assert sorted(lines) == [("refund", "credit", 400), ("refund", "order_refunded_in_part", 600)]
    assert sums["refunds"] == sum(amount for *_, amount in lines) == 1000


def test_a_refund_in_part_of_the_rest_in_stripe_refunds_it_at_its_price(invoiced, api, order):  # noqa: F811
    """6.00 then the 4.00 left given back in the dashboard: the second refunds the order,
    and the payout counts 10.00 in all, not the 6.00 twice."""
    vendor, _, this = invoiced
    refunded_in_dashboard(api, order, 600, "evt_part")
    refunded_in_dashboard(api, order, 400, "evt_rest")

    assert Order.objects.get(pk=order.pk).status == "refunded"
    assert payouts(vendor, this) == ([("USD", 0, 1000, -800)], [(0, 1000)])


def test_a_refund_in_full_the_next_month_counts_there_only_the_rest(invoiced, api, order):  # noqa: F811
    vendor, _, this = invoiced
    refunded_in_dashboard(api, order, 600, "evt_part")
    after = next_month(this)

    with time_machine.travel(after + timedelta(days=2), tick=True):
        finance, _ = admin_client("finance")
        refund_in_admin(finance, order.pk)

    assert payouts(vendor, this) == ([("USD", 0, 600, -480)], [(0, 600)])
    assert payouts(vendor, after) == ([("USD", 0, 400, -320)], [(0, 400)])
    lines, sums = statement_csv(vendor, after)
    assert lines == [("refund", "credit", 400)]
    assert sums["refunds"] == 400


def test_a_refund_in_part_that_failed_the_next_month_is_counted_back_there(invoiced, api, order):  # noqa: F811
    """The refund of 6.00 was counted in its month (its statement sent); Stripe failed it the
    next month: that month counts it back (a negative refund line) and leaves the first as it
    was sent; a refund in full then counts the whole price, so 10.00 in all."""
    vendor, _, this = invoiced
    refunded_in_dashboard(api, order, 600, "evt_part")
    (refund,) = stripe_client().v1.refunds.list(params={"payment_intent": order.payment_intent_id})
    after = next_month(this)

    with time_machine.travel(after + timedelta(days=2), tick=True):
        refund_failed(api, refund.id, "evt_failed", "evt_updated")

    assert payouts(vendor, this) == ([("USD", 0, 600, -480)], [(0, 600)])  # as it was sent
    assert payouts(vendor, after) == ([("USD", 0, -600, 480)], [(0, -600)])
    lines, sums = statement_csv(vendor, after)
    assert lines == [("refund", "order_refund_in_part_failed", -600)]
    assert sums["refunds"] == -600

    with time_machine.travel(after + timedelta(days=3), tick=True):
        finance, _ = admin_client("finance")
        refund_in_admin(finance, order.pk)

    assert refunded_of(order) == 1000
    assert payouts(vendor, after) == ([("USD", 0, 400, -320)], [(0, 400)])
    lines, _ = statement_csv(vendor, after)
    assert sorted(lines) == [
        ("refund", "credit", 1000),
        ("refund", "order_refund_in_part_failed", -600),
    ]
