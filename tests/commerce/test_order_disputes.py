"""A chargeback of a one-time order's payment (``charge.dispute.*``, Stripe's signed events):
finance is asked to answer it (``charge_disputed`` on *Money to give back*); lost, the bank
took the money back: the whole price refunds the order (entitlement ended), less is told as a
refund in part. Before, both events were answered "ignored"."""

import pytest

from billing.errors import PaymentDisputed
from billing.models import MoneyToGiveBack
from edgeplug.audit.models import AuditEvent
from marketplace import orders
from marketplace.models import Entitlement, GivenBackInPart, Order
from tests.commerce.conftest import (
    admin_client,
    confirm_refund,
    event,
    refund_confirmation,
    signed_webhook,
)
from tests.commerce.test_order_refunded_in_part_in_stripe import (  # noqa: F401
    order,
    refunded_in_dashboard,
    refunded_of,
    told,
    told_again,
)

pytestmark = pytest.mark.django_db


def disputed(api, order, event_id: str, kind: str, status: str, amount: int) -> str:  # noqa: F811
    obj = {
        "id": "dp_order",
        "object": "dispute",
        "amount": amount,
        "currency": "usd",
        "payment_intent": order.payment_intent_id,
        "reason": "product_not_received",
        "status": status,
    }
    assert signed_webhook(api, event(event_id, kind, obj)).status_code == 200
    return Order.objects.get(pk=order.pk).status


def test_a_dispute_lost_of_the_whole_price_refunds_the_order(order, api):  # noqa: F811
    disputed(api, order, "evt_open", "charge.dispute.created", "needs_response", 1000)
    (row,) = MoneyToGiveBack.objects.filter(action="charge_disputed")
    assert row.target == f"order {order.pk}" and row.amount_text == "10.00 USD"

    assert disputed(api, order, "evt_lost", "charge.dispute.closed", "lost", 1000) == "refunded"
    assert disputed(api, order, "evt_lost2", "charge.dispute.closed", "lost", 1000) == "refunded"

    assert Entitlement.objects.get(order=order).status == "revoked"
    refunded = AuditEvent.objects.get(action="order_refunded")
    assert refunded.details["source"] == "chargeback"
    assert AuditEvent.objects.filter(action="charge_dispute_closed").count() == 1
    assert MoneyToGiveBack.objects.with_settlement().get(pk=row.pk).settled_by == "dp_order"


def test_a_dispute_lost_of_part_of_the_price_is_told_as_a_refund_in_part(order, api):  # noqa: F811
    assert disputed(api, order, "evt_lost", "charge.dispute.closed", "lost", 300) == "completed"

    assert told(order) == [(300, 300)]


def test_a_dispute_lost_of_the_rest_after_a_refund_in_part_refunds_the_order(order, api):  # noqa: F811
    """4.00 of 10.00 refunded in the dashboard, then the other 6.00 taken back by the bank:
    all of the price is given back, so the order is refunded and its entitlement ends."""
    refunded_in_dashboard(api, order, 400, "evt_part")

    assert disputed(api, order, "evt_lost", "charge.dispute.closed", "lost", 600) == "refunded"

    assert Entitlement.objects.get(order=order).status == "revoked"
    assert AuditEvent.objects.get(action="order_refunded").details["source"] == "chargeback"
    assert told(order) == [(400, 400)]


def test_a_refund_in_part_after_a_dispute_lost_in_part_is_told(order, api):  # noqa: F811
    """Stripe's ``amount_refunded`` counts refunds only: 2.00 refunded after 3.00 lost in a
    dispute is a new 2.00 given back (5.00 in all), not one told already."""
    disputed(api, order, "evt_lost", "charge.dispute.closed", "lost", 300)
    refunded_in_dashboard(api, order, 200, "evt_part")

    assert told(order) == [(300, 300), (200, 500)]
    order = Order.objects.get(pk=order.pk)
    assert order.status == "completed"
    assert (order.refunded_in_stripe, order.lost_in_disputes) == (200, 300)


def test_a_refund_after_a_dispute_lost_in_part_refunds_the_order_at_the_price(order, api):  # noqa: F811
    disputed(api, order, "evt_lost", "charge.dispute.closed", "lost", 300)

    refunded_in_dashboard(api, order, 700, "evt_rest")

    assert Order.objects.get(pk=order.pk).status == "refunded"
    assert Entitlement.objects.get(order=order).status == "revoked"


def test_refund_in_full_after_a_dispute_lost_in_part_gives_back_only_the_rest(order, api):  # noqa: F811
    """The bank took 3.00 back: "Refund in full" gives back the 7.00 left, not 10.00."""
    disputed(api, order, "evt_lost", "charge.dispute.closed", "lost", 300)

    orders.refund_order(Order.objects.get(pk=order.pk))

    assert refunded_of(order) == 700
    assert Order.objects.get(pk=order.pk).status == "refunded"


def test_a_second_dispute_lost_adds_to_what_the_order_says_was_lost(order, api):  # noqa: F811
    """The disputes lost are the order's own state: a new one adds to it."""
    Order.objects.filter(pk=order.pk).update(lost_in_disputes=300)

    assert disputed(api, order, "evt_lost", "charge.dispute.closed", "lost", 200) == "completed"

    assert told(order) == [(200, 500)]
    assert Order.objects.get(pk=order.pk).lost_in_disputes == 500


def test_a_dispute_told_open_after_its_close_is_not_listed_to_answer(order, api):  # noqa: F811
    """Stripe's events come in any order: the ``created`` of a dispute closed already (won)
    does not reopen it, and finance is not asked to answer it."""
    disputed(api, order, "evt_won", "charge.dispute.closed", "won", 1000)

    disputed(api, order, "evt_open_late", "charge.dispute.created", "needs_response", 1000)

    assert not MoneyToGiveBack.objects.filter(action="charge_disputed").exists()
    assert AuditEvent.objects.get(action="charge_dispute_closed").details["status"] == "won"


def test_refund_in_full_of_an_order_under_dispute_is_refused_before_stripe(order, api):  # noqa: F811
    """Stripe refuses to refund a charge under dispute (``charge_disputed``), and a refund
    made before a dispute is lost would give the money back twice: while the order's dispute
    is open, "Refund in full" says so (409 ``payment_disputed``), asks Stripe nothing and
    leaves the order as it was; once the dispute is closed (won), it refunds."""
    finance, _ = admin_client("finance")
    asked_before = refund_confirmation(finance, order.pk)
    disputed(api, order, "evt_open", "charge.dispute.created", "needs_response", 1000)

    page = refund_confirmation(finance, order.pk).content.decode()
    assert "no: Its payment is under dispute (dp_order)" in page and 'name="post"' not in page
    said = confirm_refund(finance, asked_before).content.decode()

    assert f"Order {order.pk}: Its payment is under dispute (dp_order)" in said
    assert Order.objects.get(pk=order.pk).status == "completed"
    assert Entitlement.objects.get(order=order).status == "active"
    assert refunded_of(order) == 0
    with pytest.raises(PaymentDisputed) as refused:
        orders.refund_order(order)
    assert (refused.value.status, refused.value.code) == (409, "payment_disputed")

    disputed(api, order, "evt_won", "charge.dispute.closed", "won", 1000)
    said = confirm_refund(finance, refund_confirmation(finance, order.pk)).content.decode()
    assert f"Order {order.pk} refunded." in said and refunded_of(order) == 1000


def test_each_amount_given_back_in_part_is_kept_once_with_where_it_came_from(order, api):  # noqa: F811
    """Kept in its own table (``GivenBackInPart``, what vendor payouts read), not only told in
    the audit log: once per new amount, however often Stripe tells it."""
    refunded_in_dashboard(api, order, 600, "evt_part")
    told_again(api, order, "evt_part_again")
    disputed(api, order, "evt_lost", "charge.dispute.closed", "lost", 300)
    disputed(api, order, "evt_lost_again", "charge.dispute.closed", "lost", 300)

    rows = GivenBackInPart.objects.filter(order=order).order_by("given_at", "id")
    assert list(rows.values_list("amount", "given_back_so_far", "source", "reference")) == [
        (600, 600, "refund", order.payment_intent_id),
        (300, 900, "dispute", "dp_order"),
    ]


def test_an_inquiry_does_not_stop_a_refund_in_full(order, api):  # noqa: F811
    """An inquiry (``warning_needs_response``) is no chargeback yet, and Stripe refunds its
    charge (a refund is the usual way to settle one): "Refund in full" goes through."""
    finance, _ = admin_client("finance")
    disputed(api, order, "evt_ask", "charge.dispute.created", "warning_needs_response", 1000)

    said = confirm_refund(finance, refund_confirmation(finance, order.pk)).content.decode()

    assert f"Order {order.pk} refunded." in said and refunded_of(order) == 1000


def test_an_inquiry_escalated_to_a_chargeback_stops_a_refund_in_full(order, api):  # noqa: F811
    """An inquiry the bank escalates stays the same ``dp_…``: Stripe tells it by
    ``charge.dispute.funds_withdrawn`` (and ``charge.dispute.updated``), its status now
    ``needs_response``. It is a chargeback from then on: "Refund in full" is refused, and
    finance has one row to answer, the chargeback's; the inquiry's is settled by it."""
    finance, _ = admin_client("finance")
    disputed(api, order, "evt_ask", "charge.dispute.created", "warning_needs_response", 1000)
    (inquiry,) = MoneyToGiveBack.objects.filter(action="charge_disputed")

    disputed(api, order, "evt_up", "charge.dispute.updated", "needs_response", 1000)
    disputed(api, order, "evt_took", "charge.dispute.funds_withdrawn", "needs_response", 1000)
    disputed(api, order, "evt_late", "charge.dispute.updated", "warning_under_review", 1000)
    disputed(api, order, "evt_sent", "charge.dispute.updated", "under_review", 1000)

    page = refund_confirmation(finance, order.pk).content.decode()
    assert "no: Its payment is under dispute (dp_order)" in page
    rows = MoneyToGiveBack.objects.with_settlement().filter(action="charge_disputed")
    assert sorted(rows.values_list("details__status", "settled_by")) == [
        ("needs_response", None),
        ("warning_needs_response", "dp_order"),
    ]
    settled = AuditEvent.objects.get(action="money_to_give_back_settled")
    assert settled.details["event"] == inquiry.pk
    assert settled.details["source"] == "dispute_escalated"

    disputed(api, order, "evt_won", "charge.dispute.closed", "won", 1000)
    assert not MoneyToGiveBack.objects.with_settlement().filter(settled_by__isnull=True).exists()
    said = confirm_refund(finance, refund_confirmation(finance, order.pk)).content.decode()
    assert f"Order {order.pk} refunded." in said and refunded_of(order) == 1000


def test_a_chargeback_told_again_by_its_other_events_is_listed_once(order, api):  # noqa: F811
    """A chargeback filed as such comes with ``created`` and ``funds_withdrawn`` (and
    ``updated`` as evidence is sent): one row to answer, whatever their order."""
    disputed(api, order, "evt_took", "charge.dispute.funds_withdrawn", "needs_response", 1000)
    disputed(api, order, "evt_open", "charge.dispute.created", "needs_response", 1000)
    disputed(api, order, "evt_sent", "charge.dispute.updated", "under_review", 1000)

    (row,) = MoneyToGiveBack.objects.filter(action="charge_disputed")
    assert row.details["status"] == "needs_response"
