"""A one-time order refunded in part in Stripe's dashboard (``charge.refunded`` for less than
its price): the order stays completed, its entitlement on, and finance is told of each amount
given back once, on *Money to give back* (``order_refunded_in_part``); refunding it in full
later gives back only the rest.

The defect this covers: ``orders.sync_payment`` acted only on a refund of the whole price,
so 6.00 of 10.00 given back left no trace at all."""

import pytest

from billing import payments
from billing.models import MoneyToGiveBack
from marketplace import orders
from marketplace.models import Entitlement, Order
from tests.commerce.conftest import event, place_order, save_card, signed_webhook, stripe_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(stripe_on, customer, agent, make_plan):
    """A completed one-time order of 10.00 USD, paid by card."""
    client, _ = customer
    save_card(client)
    plan = make_plan("one_time", currency="USD", amount=1000)
    body = place_order(client, agent, plan, "part").json()
    assert body["status"] == "completed", body
    return Order.objects.get(pk=body["id"])


def refunded_in_dashboard(api, order, amount: int, event_id: str) -> None:
    """Support gives ``amount`` back in Stripe's dashboard; Stripe tells it by webhook."""
    intent = order.payment_intent_id
    stripe_client().v1.refunds.create(params={"payment_intent": intent, "amount": amount})
    told_again(api, order, event_id)


def told_again(api, order, event_id: str) -> None:
    charge = {"id": "ch_part", "object": "charge", "payment_intent": order.payment_intent_id}
    assert signed_webhook(api, event(event_id, "charge.refunded", charge)).status_code == 200


def refunded_of(order) -> int:
    return payments.payment_status(order.payment_intent_id).amount_refunded


def told(order) -> list[tuple[int, int]]:
    rows = MoneyToGiveBack.objects.filter(
        action="order_refunded_in_part", target=f"order {order.pk}"
    )
    return [(row.details["amount"], row.details["refunded"]) for row in rows.order_by("pk")]


def test_an_order_refunded_in_part_in_stripe_is_seen_by_finance(order, api):
    refunded_in_dashboard(api, order, 600, "evt_part")

    assert told(order) == [(600, 600)]
    (row,) = MoneyToGiveBack.objects.filter(action="order_refunded_in_part")
    assert row.amount_text == "6.00 USD" and row.details["price"] == 1000
    assert Order.objects.get(pk=order.pk).status == "completed"
    assert Entitlement.objects.get(order=order).status == "active"


def test_each_amount_given_back_is_told_once(order, api):
    refunded_in_dashboard(api, order, 600, "evt_part")
    told_again(api, order, "evt_part_again")
    refunded_in_dashboard(api, order, 200, "evt_more")

    assert told(order) == [(600, 600), (200, 800)]


def test_refunding_it_in_full_later_gives_back_only_the_rest(order, api):
    refunded_in_dashboard(api, order, 600, "evt_part")

    orders.refund_order(Order.objects.get(pk=order.pk))

    assert refunded_of(order) == 1000
    assert Order.objects.get(pk=order.pk).status == "refunded"


def test_a_retry_after_a_refund_in_part_sends_a_key_of_its_amount(order, api, monkeypatch):
    """Refund in full failed at Stripe (a timeout: its key maybe kept 24 hours), then 6.00
    was given back in the dashboard: the retry asks the 4.00 left, so it sends a key of its
    own; the same key with another amount was Stripe's ``idempotency_error``. Each names
    the order in its metadata, as EdgePlug's refunds do."""
    sent, refund = [], payments.refund

    def timing_out_once(payment_intent_id, **kwargs):
        sent.append(kwargs)
        if len(sent) == 1:
            raise payments.PaymentProcessorError("Stripe timed out.")
        return refund(payment_intent_id, **kwargs)

    monkeypatch.setattr(payments, "refund", timing_out_once)
    with pytest.raises(payments.PaymentProcessorError):
        orders.refund_order(Order.objects.get(pk=order.pk))
    refunded_in_dashboard(api, order, 600, "evt_part")

    orders.refund_order(Order.objects.get(pk=order.pk))

    first, retry = sent
    assert (first["amount"], retry["amount"]) == (None, 400)
    assert first["idempotency_key"] != retry["idempotency_key"]
    assert first["metadata"] == retry["metadata"] == {"order": str(order.pk)}
    assert refunded_of(order) == 1000


def test_what_stripe_gave_back_is_kept_on_the_order(order, api):
    refunded_in_dashboard(api, order, 600, "evt_part")
    refunded_in_dashboard(api, order, 200, "evt_more")

    order.refresh_from_db()
    assert (order.refunded_in_stripe, order.lost_in_disputes) == (800, 0)


def test_refund_in_full_gives_back_what_the_order_says_is_left(order, api):
    """What was given back is the order's own state (kept where Stripe told it), not read
    back from the audit log: an order that says 6.00 went back has 4.00 refunded."""
    Order.objects.filter(pk=order.pk).update(refunded_in_stripe=600)

    orders.refund_order(Order.objects.get(pk=order.pk))

    assert refunded_of(order) == 400
    assert Order.objects.get(pk=order.pk).status == "refunded"
