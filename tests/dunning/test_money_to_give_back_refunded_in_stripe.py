"""Finance has EdgePlug refund a card payment on *Money to give back* (``money_back.
refund_in_stripe``, list action *Refund in Stripe*): an invoice paid twice gets that payment
back, an overpaid one its excess, on the PaymentIntent, at localstripe; the row is then
settled with the refund's id (``source: refunded_in_stripe``). A retry whose answer was lost
never refunds twice; a settled row, another kind, and a processor that refuses or is down
refund and record nothing. Before, finance refunded in Stripe's dashboard and typed the
refund's id back."""

import pytest
from rest_framework.test import APIClient

from billing import money_back
from billing.errors import NotACardPayment, PaymentProcessorError, PaymentsNotConfigured
from billing.models import REFUND_FAILED, SETTLED, Invoice, MoneyToGiveBack
from edgeplug.audit.models import AuditEvent
from edgeplug.errors import Conflict
from tests.commerce.conftest import (  # noqa: F401 - fixtures used here
    make_plan,
    place_order,
    processor,
    refund_in_admin,
    stripe_client,
)
from tests.dunning.conftest import (
    GOOD,
    MONEY_TO_GIVE_BACK,
    NEEDS_3DS,
    TOTAL,
    credit_fee,
    rows_of,
)
from tests.dunning.test_card_refunds_failing_later import (
    bought,
    card_refund_fails,
    told,
)
from tests.dunning.test_credited_invoice_is_settled import FEE_CREDIT
from tests.dunning.test_invoice_payment_webhooks import (
    SETTLED_OTHERWISE,
    authenticate,
    deliver,
    intent_event,
)

pytestmark = pytest.mark.django_db


def refunds_of(intent: str) -> list[tuple[str, int, dict]]:
    """The refunds localstripe holds for the PaymentIntent: id, amount, metadata."""
    listed = stripe_client().v1.refunds.list(params={"payment_intent": intent}).data
    return [(refund.id, refund.amount, refund.metadata.to_dict()) for refund in listed]


def settlements() -> list[dict]:
    return [event.details for event in AuditEvent.objects.filter(action=SETTLED)]


def overpay(invoiced, finance, committed) -> Invoice:
    """A charge awaited 3-D Secure while ``finance`` credited the invoice's fee; the card
    holder then passed it: the intent took FEE_CREDIT more than the invoice asks
    (``invoice_overpaid``). The invoice, as it is then."""
    _, invoice = invoiced(card=NEEDS_3DS)
    credit_fee(finance, invoice)
    intent = invoice.payment_intent_id
    authenticate(intent)
    deliver(APIClient(), committed, intent_event("evt_3ds_ok", "payment_intent.succeeded", intent))
    return Invoice.objects.get(pk=invoice.pk)


@pytest.fixture
def overpaid(invoiced, admin_session, committed):
    """An overpaid invoice (``overpay``): its row, the invoice, finance's admin client and
    user."""
    finance, user = admin_session("finance")
    invoice = overpay(invoiced, finance, committed)
    (row,) = MoneyToGiveBack.objects.filter(action="invoice_overpaid")
    return row, invoice, finance, user


@pytest.fixture
def paid_twice(invoiced, committed, api):
    """An invoice paid by transfer while its card charge was processing; the charge then
    succeeded too (``invoice_paid_twice``). (its row, the intent)"""
    _, invoice = invoiced(card=GOOD)
    Invoice.objects.filter(pk=invoice.pk).update(
        next_payment_attempt_at=None, **SETTLED_OTHERWISE["offline"]
    )
    intent = invoice.payment_intent_id
    deliver(api, committed, intent_event("evt_late_ok", "payment_intent.succeeded", intent))
    (row,) = MoneyToGiveBack.objects.filter(action="invoice_paid_twice")
    return row, intent


def test_an_overpaid_invoice_s_excess_is_refunded_on_its_intent_and_settled(overpaid):
    row, invoice, _, user = overpaid
    intent = invoice.payment_intent_id

    done = money_back.refund_in_stripe(row, actor=user)

    ((refund, amount, metadata),) = refunds_of(intent)
    assert amount == FEE_CREDIT  # the excess, not the whole charge
    assert metadata["money_to_give_back"] == str(row.pk)
    assert done.settled_by == refund
    assert MoneyToGiveBack.objects.with_settlement().get(pk=row.pk).settled_by == refund
    (settled,) = AuditEvent.objects.filter(action=SETTLED)
    assert settled.details == {
        "event": row.pk,
        "action": "invoice_overpaid",
        "amount": FEE_CREDIT,
        "currency": invoice.currency,
        "reference": refund,
        "source": "refunded_in_stripe",
    }
    assert (settled.actor, settled.tenant) == (user, invoice.tenant)


def test_a_second_payment_of_an_invoice_is_refunded_whole(paid_twice):
    row, intent = paid_twice

    done = money_back.refund_in_stripe(row)

    ((refund, amount, _),) = refunds_of(intent)
    assert (amount, done.settled_by) == (TOTAL, refund)
    assert [d["source"] for d in settlements()] == ["refunded_in_stripe"]


def _refund_failure_rows() -> list[dict]:
    return [row.details for row in MoneyToGiveBack.objects.filter(action=REFUND_FAILED)]


def test_a_refund_that_fails_later_is_a_new_row_to_give_back_once(paid_twice, api):
    """The card was closed meanwhile: Stripe fails the refund it accepted and says so by
    webhook. The money did not go back, so finance is told to give it back by transfer: a new
    row, once however many events about it come; the first stays settled."""
    row, intent = paid_twice
    refund = money_back.refund_in_stripe(row).settled_by

    card_refund_fails(refund)
    told(api, "evt_money_back_refund_failed", "refund.failed", refund)
    told(api, "evt_money_back_refund_updated", "charge.refund.updated", refund)

    assert _refund_failure_rows() == [
        {
            "event": row.pk,
            "refund": refund,
            "payment_intent": intent,
            "amount": TOTAL,
            "currency": row.details["currency"],
            "failure_reason": "expired_or_canceled_card",
        }
    ]
    (failed,) = MoneyToGiveBack.objects.with_settlement().filter(action=REFUND_FAILED)
    assert (failed.settled_by, failed.is_card_payment, failed.tenant) == (None, False, row.tenant)
    assert MoneyToGiveBack.objects.with_settlement().get(pk=row.pk).settled_by == refund


def test_the_beat_job_finds_a_failed_refund_whose_webhook_was_lost(paid_twice):
    row, _ = paid_twice
    refund = money_back.refund_in_stripe(row).settled_by
    assert money_back.recheck_card_refunds().failed == {}  # made: nothing to tell

    card_refund_fails(refund)
    first = money_back.recheck_card_refunds()
    again = money_back.recheck_card_refunds()

    assert list(first.failed) == [f"money to give back {row.pk}"]
    assert again.failed == {}
    assert [(d["event"], d["refund"]) for d in _refund_failure_rows()] == [(row.pk, refund)]


def test_a_retry_after_a_lost_answer_refunds_once(paid_twice):
    """The first attempt's refund reached Stripe but its answer never came back, and its
    idempotency key has expired since: the retry finds that refund by its metadata and
    records it, instead of refunding again."""
    row, intent = paid_twice
    lost = stripe_client().v1.refunds.create(
        params={
            "payment_intent": intent,
            "amount": TOTAL,
            "metadata": {"money_to_give_back": str(row.pk)},
        }
    )

    done = money_back.refund_in_stripe(row)

    assert [(refund, amount) for refund, amount, _ in refunds_of(intent)] == [(lost.id, TOTAL)]
    assert done.settled_by == lost.id
    # And once recorded, asking again refunds nothing more either.
    with pytest.raises(Conflict) as again:
        money_back.refund_in_stripe(row)
    assert again.value.code == "settled_already"
    assert len(refunds_of(intent)) == 1


def test_a_row_settled_by_hand_is_not_refunded(paid_twice):
    row, intent = paid_twice
    money_back.settle(row, reference="re_made_in_the_dashboard")

    with pytest.raises(Conflict) as refused:
        money_back.refund_in_stripe(row)

    assert refused.value.code == "settled_already"
    assert "re_made_in_the_dashboard" in refused.value.detail
    assert refunds_of(intent) == []
    assert [d["source"] for d in settlements()] == ["by_hand"]


@pytest.fixture
def order_refund_failed(payer, agent, make_plan, admin_session, api):  # noqa: F811
    """An order refunded by finance whose card refund the bank failed: money to give back by
    transfer (``order_refund_failed``), not a card payment. (its row, the order's intent)"""
    order = bought(payer, agent, make_plan)
    finance, _ = admin_session("finance")
    refund_in_admin(finance, order.pk)
    intent = order.payment_intent_id
    ((refund, _, _),) = refunds_of(intent)
    card_refund_fails(refund)
    told(api, "evt_order_refund_failed", "refund.failed", refund)
    (row,) = MoneyToGiveBack.objects.filter(action="order_refund_failed")
    return row, intent


def test_a_kind_that_is_not_a_card_payment_is_refused(order_refund_failed):
    row, intent = order_refund_failed

    with pytest.raises(NotACardPayment) as refused:
        money_back.refund_in_stripe(row)

    assert refused.value.code == "not_a_card_payment"
    assert "left for Record settled" in refused.value.detail
    assert len(refunds_of(intent)) == 1  # the order's own refund only
    assert settlements() == []


def test_a_processor_down_refunds_and_records_nothing(paid_twice, processor):  # noqa: F811
    row, intent = paid_twice
    processor.down()

    with pytest.raises(PaymentProcessorError) as failed:
        money_back.refund_in_stripe(row)

    assert "could not be reached" in failed.value.detail
    assert settlements() == []
    assert MoneyToGiveBack.objects.with_settlement().get(pk=row.pk).settled_by is None
    processor.up()
    assert refunds_of(intent) == []


def test_payments_not_configured_records_nothing(paid_twice, settings):
    row, _ = paid_twice
    settings.STRIPE_API_KEY = ""

    with pytest.raises(PaymentsNotConfigured):
        money_back.refund_in_stripe(row)

    assert settlements() == []


def test_finance_confirms_first_and_other_kinds_are_left_for_record_settled(
    overpaid, order_refund_failed, committed
):
    """The admin action asks first (nothing refunded until Confirm), keeps the list's filter,
    and tells each row what happened to it."""
    row, invoice, finance, _ = overpaid
    other, _ = order_refund_failed
    chosen = {"action": "refund_in_stripe", "_selected_action": [row.pk, other.pk]}
    url = f"{MONEY_TO_GIVE_BACK}?settled=no"

    asked = finance.post(url, chosen).content.decode()
    assert "Confirm: refund 1 in Stripe" in asked
    assert "no: Not a card payment EdgePlug refunds: left for Record settled" in asked
    assert refunds_of(invoice.payment_intent_id) == []

    done = finance.post(url, {**chosen, "post": "yes"})
    assert done.status_code == 302 and done["Location"] == url
    page = finance.get(url).content.decode()
    ((refund, _, _),) = refunds_of(invoice.payment_intent_id)
    assert (
        f"Invoice {invoice.number} (invoice overpaid): 11.90 EUR refunded in Stripe ({refund}), "
        "settled."
    ) in page
    assert (
        f"Order {other.target.split()[-1]} (order refund failed): Not a card payment EdgePlug "
        "refunds: left for Record settled"
    ) in page
    assert [cells[1] for cells in rows_of(page)] == ["order refund failed"]  # still open
