"""A one-time order refunded in part in Stripe's dashboard (``charge.refunded`` for less than
its price): the order stays completed, its entitlement on, and finance is told of each amount
given back once, on *Money to give back* (``order_refunded_in_part``); refunding it in full
later gives back only the rest.

The defect this covers: ``orders.sync_payment`` acted only on a refund of the whole price,
so 6.00 of 10.00 given back left no trace at all."""

import pytest

from billing import money_back, payments
from billing.models import MoneyToGiveBack
from marketplace import orders
from marketplace.models import Entitlement, GivenBackInPart, Order
from tests.commerce.conftest import event, place_order, save_card, signed_webhook, stripe_client
from tests.dunning.conftest import MONEY_TO_GIVE_BACK, rows_of
from tests.dunning.test_card_refunds_failing_later import card_refund_fails
from tests.dunning.test_card_refunds_failing_later import told as told_refund

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


# --- a refund in part made in the dashboard that Stripe failed later --------------------------
#
# The defect these cover: the order kept counting a dashboard refund whose card could not take
# the money back (the refund ``failed`` days later), so Refund in full gave back only the rest
# and the customer was short of the failed amount.

FAILED_IN_PART = "order_refund_in_part_failed"


def dashboard_refund(order, amount: int) -> str:
    """Support gives ``amount`` back in Stripe's dashboard (no webhook yet): the refund's id."""
    intent = order.payment_intent_id
    return stripe_client().v1.refunds.create(params={"payment_intent": intent, "amount": amount}).id


def refund_failed(api, refund_id: str, *event_ids: str) -> list[str]:
    """The card cannot take the money back: Stripe fails the refund and tells it by each of
    ``event_ids`` (``refund.failed``, then the older ``charge.refund.updated`` as they come)."""
    card_refund_fails(refund_id, "expired_or_canceled_card")
    kinds = ["refund.failed", "charge.refund.updated"]
    return [
        told_refund(api, event_id, kinds[n % 2], refund_id) for n, event_id in enumerate(event_ids)
    ]


def counted_back(order) -> list[tuple[int, int]]:
    rows = MoneyToGiveBack.objects.filter(action=FAILED_IN_PART, target=f"order {order.pk}")
    return [(row.details["amount"], row.details["refunded"]) for row in rows.order_by("pk")]


def test_a_refund_in_part_that_failed_is_counted_back_once(order, api, admin_session):
    refunded_in_dashboard(api, order, 600, "evt_part")
    (refund,) = stripe_client().v1.refunds.list(params={"payment_intent": order.payment_intent_id})

    refund_failed(api, refund.id, "evt_failed", "evt_updated", "evt_failed_again")
    told_again(api, order, "evt_part_late")  # the refund's first event, delivered once more

    order.refresh_from_db()
    assert (order.status, order.refunded_in_stripe) == ("completed", 0)
    assert counted_back(order) == [(600, 0)]
    assert told(order) == [(600, 600)]
    (event,) = MoneyToGiveBack.objects.filter(action=FAILED_IN_PART)
    assert event.details["refund"] == refund.id
    assert event.details["failure_reason"] == "expired_or_canceled_card"
    # Finance reads it on its list of money to give back, in plain words.
    finance, _ = admin_session("finance")
    listed = rows_of(finance.get(MONEY_TO_GIVE_BACK).content.decode())
    (row,) = [row for row in listed if row[1] == "order refund in part failed"]
    assert row[3:6] == [f"order {order.pk}", "6.00 USD", order.payment_intent_id]
    assert row[6].startswith("Stripe could not give back this refund in part")


def test_refund_in_full_after_a_refund_in_part_failed_gives_back_the_whole_price(order, api):
    refunded_in_dashboard(api, order, 600, "evt_part")
    (refund,) = stripe_client().v1.refunds.list(params={"payment_intent": order.payment_intent_id})
    refund_failed(api, refund.id, "evt_failed")

    orders.refund_order(Order.objects.get(pk=order.pk))

    assert refunded_of(order) == 1000
    assert Order.objects.get(pk=order.pk).status == "refunded"


def test_only_the_refund_that_failed_is_counted_back(order, api):
    refunded_in_dashboard(api, order, 600, "evt_part")
    failing = dashboard_refund(order, 100)
    told_again(api, order, "evt_more")
    refund_failed(api, failing, "evt_failed")
    refunded_in_dashboard(api, order, 100, "evt_again")  # given again, and it went through

    order.refresh_from_db()
    assert (order.status, order.refunded_in_stripe) == ("completed", 700)
    assert told(order) == [(600, 600), (100, 700), (100, 700)]
    assert counted_back(order) == [(100, 600)]
    orders.refund_order(Order.objects.get(pk=order.pk))
    assert refunded_of(order) == 1000


def test_a_failure_told_before_the_refund_counts_nothing_back(order, api):
    """Stripe's events come in any order: the refund failed before its ``charge.refunded``
    was handled, so nothing was counted and nothing is counted back."""
    failing = dashboard_refund(order, 600)

    refund_failed(api, failing, "evt_failed")
    told_again(api, order, "evt_part_late")

    order.refresh_from_db()
    assert (order.status, order.refunded_in_stripe) == ("completed", 0)
    assert told(order) == [] and counted_back(order) == []
    orders.refund_order(Order.objects.get(pk=order.pk))
    assert refunded_of(order) == 1000


def test_the_recheck_counts_back_a_failed_refund_in_part_whose_webhook_was_lost(order, api):
    """The six-hourly recheck of card refunds (the net for a lost ``refund.failed``) asks
    Stripe about the refunds of each order given back in part lately: one failed is counted
    back as its webhook would have, once however often the recheck runs."""
    refunded_in_dashboard(api, order, 600, "evt_part")
    (refund,) = stripe_client().v1.refunds.list(params={"payment_intent": order.payment_intent_id})
    card_refund_fails(refund.id)  # its webhooks never arrive

    first = money_back.recheck_card_refunds()
    again = money_back.recheck_card_refunds()

    assert first.failed == {f"order {order.pk}": f"order {order.pk} refund failed"}
    assert again.failed == {} and again.errors == {}
    assert Order.objects.get(pk=order.pk).refunded_in_stripe == 0
    assert counted_back(order) == [(600, 0)]


def test_a_failure_counted_back_then_told_again_after_a_refund_in_full_asks_no_transfer(order, api):
    """Counted back, the failed refund was given back whole by "Refund in full": its failure
    told again later (Stripe's redelivery, the recheck) asks finance for no transfer."""
    refunded_in_dashboard(api, order, 600, "evt_part")
    (refund,) = stripe_client().v1.refunds.list(params={"payment_intent": order.payment_intent_id})
    refund_failed(api, refund.id, "evt_failed")
    orders.refund_order(Order.objects.get(pk=order.pk))

    refund_failed(api, refund.id, "evt_failed_again")
    money_back.recheck_card_refunds()

    assert refunded_of(order) == 1000
    assert not MoneyToGiveBack.objects.filter(action="order_refund_failed").exists()


def test_a_refund_no_payout_counted_is_counted_back_in_no_payout(order, api):
    """A refund in part told before marketplace 0022 kept no ``GivenBackInPart`` (no payout
    counted it): its failure lowers what the order counts given back, and takes nothing
    back from a payout."""
    refunded_in_dashboard(api, order, 600, "evt_part")
    GivenBackInPart.objects.filter(order=order).delete()  # as kept before 0022

    (refund,) = stripe_client().v1.refunds.list(params={"payment_intent": order.payment_intent_id})
    refund_failed(api, refund.id, "evt_failed")

    assert Order.objects.get(pk=order.pk).refunded_in_stripe == 0
    assert counted_back(order) == [(600, 0)]
    assert not GivenBackInPart.objects.filter(order=order).exists()


def test_a_failure_told_again_after_the_refund_in_full_gave_all_back_asks_no_transfer(order, api):
    """The dashboard refund failed before it was ever counted (nothing counted back), then
    "Refund in full" gave back the whole price: its failure told again (a redelivery) is
    moot, as Stripe gave back all, and finance is asked for no transfer."""
    failing = dashboard_refund(order, 600)
    refund_failed(api, failing, "evt_failed")
    told_again(api, order, "evt_part_late")
    orders.refund_order(Order.objects.get(pk=order.pk))

    refund_failed(api, failing, "evt_failed_again")

    assert refunded_of(order) == 1000
    assert not MoneyToGiveBack.objects.filter(action="order_refund_failed").exists()


def test_the_recheck_leaves_a_failure_that_counted_nothing(order, api):
    """Of an order given back in part (6.00), a second dashboard refund failed before its
    ``charge.refunded`` was handled counted nothing, and has nothing to count back: the
    recheck does not report it run after run."""
    refunded_in_dashboard(api, order, 600, "evt_part")
    failing = dashboard_refund(order, 100)
    refund_failed(api, failing, "evt_failed")
    told_again(api, order, "evt_part_late")

    assert money_back.recheck_card_refunds().failed == {}
    assert counted_back(order) == []
