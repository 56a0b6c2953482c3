"""A chargeback of a one-time order's payment (``charge.dispute.*``, Stripe's signed events):
finance is asked to answer it (``charge_disputed`` on *Money to give back*); lost, the bank
took the money back: the whole price refunds the order (entitlement ended), less is told as a
refund in part. Before, both events were answered "ignored"."""

import pytest

from billing.models import MoneyToGiveBack
from edgeplug.audit.models import AuditEvent
from marketplace.models import Entitlement, Order
from tests.commerce.conftest import event, signed_webhook
from tests.commerce.test_order_refunded_in_part_in_stripe import order, told  # noqa: F401

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


def test_a_dispute_lost_of_part_of_the_price_is_told_as_a_refund_in_part(order, api):  # noqa: F811
    assert disputed(api, order, "evt_lost", "charge.dispute.closed", "lost", 300) == "completed"

    assert told(order) == [(300, 300)]
