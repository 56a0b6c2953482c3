"""A card refund Stripe accepted can fail days later, when the card can no longer take the
money back (closed, lost): Stripe turns the refund ``failed`` and says so by webhook
(``refund.failed``; ``charge.refund.updated`` before API version 2024-10-28). A credit note
whose refund failed so owes its money again, for finance to pay back by transfer; an order's
refund failing so is told to finance. The refund is re-fetched, never taken from the event."""

from datetime import timedelta

import pytest

from billing import tasks
from billing.models import Invoice, InvoiceStatus, MoneyToGiveBack
from edgeplug.audit.models import AuditEvent
from marketplace.models import Order
from tests.commerce.conftest import (  # noqa: F401 - a fixture used here
    event,
    make_plan,
    place_order,
    refund_in_admin,
    signed_webhook,
    stripe_client,
)
from tests.dunning.conftest import INVOICES, MONEY_TO_GIVE_BACK, TOTAL, rows_of, signed_in
from tests.dunning.test_credit_notes_pay_money_back import paid_back, refunded_of
from tests.invoicing.conftest import credited_in_full

pytestmark = pytest.mark.django_db


def card_refund_fails(refund_id: str, reason: str = "expired_or_canceled_card") -> None:
    """What the card's bank does to the refund, days after Stripe accepted it (localstripe's
    test control, billing.localstripe_server)."""
    stripe_client().raw_request(
        "post", f"/_edgeplug/refunds/{refund_id}/fail", failure_reason=reason
    )


def told(api, event_id: str, kind: str, refund_id: str) -> str:
    """Stripe's webhook about the refund, delivered and signed as Stripe does: what the
    endpoint recorded doing."""
    payload = event(event_id, kind, {"id": refund_id, "object": "refund", "status": "failed"})
    response = signed_webhook(api, payload)
    assert response.status_code == 200, response.content
    return response.json().get("outcome", "")


@pytest.fixture
def refunded_note(invoiced, admin_session, django_capture_on_commit_callbacks):
    """A card-paid invoice finance credited in full: its note's card refund was made."""
    customer, invoice = invoiced()
    finance, _ = admin_session("finance")
    with django_capture_on_commit_callbacks(execute=True):
        credited_in_full(finance, invoice)
    note = Invoice.objects.get(credit_of=invoice)
    assert note.refunded_at is not None and refunded_of(invoice.payment_intent_id) == TOTAL
    return customer, finance, invoice, note


def test_a_note_whose_card_refund_failed_owes_its_money_again_until_finance_transfers_it(
    refunded_note, api, clock
):
    customer, finance, invoice, note = refunded_note
    refund = note.refund_reference

    card_refund_fails(refund)
    told(api, "evt_refund_failed", "refund.failed", refund)

    note.refresh_from_db()
    assert (note.refunded_at, note.refunded_by, note.refund_reference) == (None, "", "")
    assert refund in note.refund_failure and "expired_or_canceled_card" in note.refund_failure
    assert refunded_of(invoice.payment_intent_id) == 0
    failed = AuditEvent.objects.get(action="credit_note_refund_failed")
    assert failed.details | {"refund": refund, "amount": TOTAL} == failed.details
    shown = signed_in(customer).get(f"/api/v1/invoices/{note.pk}").json()
    assert (shown["refunded_at"], shown["refund_amount"]) == (None, TOTAL)
    owed = finance.get(INVOICES, {"money_back": "owed"}).content.decode()
    assert note.number in owed

    # The older event about the same failure changes nothing more.
    told(api, "evt_refund_updated", "charge.refund.updated", refund)
    assert AuditEvent.objects.filter(action="credit_note_refund_failed").count() == 1
    # The beat job does not refund the card again: finance pays it back by transfer.
    clock.shift(timedelta(days=1))
    assert tasks.retry_credit_note_refunds.apply().get() == {"refunded": {}, "errors": {}}
    assert f"{note.number}: paid back (SEPA back 9)." in paid_back(finance, note.pk, "SEPA back 9")
    note.refresh_from_db()
    assert (note.refunded_by, note.refund_reference) == ("transfer", "SEPA back 9")
    assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.PAID


def test_a_refund_failing_before_its_success_was_recorded_is_never_recorded_as_paid_back(
    refunded_note, api, clock
):
    """Stripe made the refund but its answer never reached the note (the worker died), then
    the card refused it: the note keeps owing, told why, and the beat job, which would find
    the refund under its idempotency key and be answered with its first success, leaves it
    to finance's transfer."""
    *_, note = refunded_note
    refund = note.refund_reference
    Invoice.objects.filter(pk=note.pk).update(refunded_at=None, refunded_by="", refund_reference="")

    card_refund_fails(refund, "lost_or_stolen_card")
    told(api, "evt_refund_failed_early", "refund.failed", refund)
    told(api, "evt_refund_updated_early", "refund.updated", refund)

    note.refresh_from_db()
    assert note.refunded_at is None and "lost_or_stolen_card" in note.refund_failure
    assert AuditEvent.objects.filter(action="credit_note_refund_failed").count() == 1
    clock.shift(timedelta(hours=5))
    assert tasks.retry_credit_note_refunds.apply().get() == {"refunded": {}, "errors": {}}
    assert Invoice.objects.get(pk=note.pk).refunded_at is None


def test_a_failure_whose_webhook_was_lost_is_found_by_the_beat_job(refunded_note, clock):
    *_, note = refunded_note
    assert tasks.recheck_card_refunds.apply().get() == {"failed": {}, "errors": {}}

    card_refund_fails(note.refund_reference)  # and Stripe's webhook never arrives
    clock.shift(timedelta(days=3))
    found = tasks.recheck_card_refunds.apply().get()

    assert found == {
        "failed": {note.number: f"credit note {note.number} owes its money back again"},
        "errors": {},
    }
    assert Invoice.objects.get(pk=note.pk).refunded_at is None
    assert AuditEvent.objects.filter(action="credit_note_refund_failed").count() == 1
    assert tasks.recheck_card_refunds.apply().get() == {"failed": {}, "errors": {}}


def test_a_refund_that_went_through_changes_nothing(refunded_note, api):
    *_, note = refunded_note

    assert told(api, "evt_refund_ok", "refund.updated", note.refund_reference) == (
        "refund succeeded"
    )

    fresh = Invoice.objects.get(pk=note.pk)
    assert (fresh.refunded_at, fresh.refund_reference) == (note.refunded_at, note.refund_reference)
    assert not AuditEvent.objects.filter(action="credit_note_refund_failed").exists()


def bought(payer, agent, make_plan) -> Order:  # noqa: F811
    """A customer's one-time order of 49.00 EUR, paid by card."""
    body = place_order(
        signed_in(payer(agent=agent)),
        agent,
        make_plan("one_time", currency="EUR", amount=4900),
        "k",
    ).json()
    assert body["status"] == "completed", body
    return Order.objects.get(pk=body["id"])


def test_an_order_s_refund_that_failed_is_told_to_finance_once(
    payer,
    agent,
    make_plan,  # noqa: F811
    admin_session,
    api,
):
    order = bought(payer, agent, make_plan)
    finance, _ = admin_session("finance")
    refund_in_admin(finance, order.pk)
    order.refresh_from_db()
    assert order.status == "refunded" and refunded_of(order.payment_intent_id) == 4900
    (refund,) = (
        stripe_client().v1.refunds.list(params={"payment_intent": order.payment_intent_id}).data
    )

    card_refund_fails(refund.id, "lost_or_stolen_card")
    told(api, "evt_order_refund_failed", "refund.failed", refund.id)
    told(api, "evt_order_refund_updated", "charge.refund.updated", refund.id)

    assert Order.objects.get(pk=order.pk).status == "refunded"  # its entitlement stays ended
    assert refunded_of(order.payment_intent_id) == 0
    (failed,) = AuditEvent.objects.filter(action="order_refund_failed")
    assert failed.tenant == order.tenant
    assert failed.details == {
        "refund": refund.id,
        "amount": 4900,
        "currency": order.currency,
        "failure_reason": "lost_or_stolen_card",
    }
    # Finance finds it on its list of money to give back; a reviewer may not read it.
    listed = finance.get(MONEY_TO_GIVE_BACK)
    assert listed.status_code == 200
    (row,) = rows_of(listed.content.decode())
    assert row[1:] == [
        "order refund failed",
        str(order.tenant),
        f"order {order.pk}",
        "49.00 EUR",
        refund.id,
        "Pay the order back by transfer: its card refund failed.",
        "-",
    ]
    reviewer, _ = admin_session("reviewers")
    assert reviewer.get(MONEY_TO_GIVE_BACK).status_code == 403

    # Finance sends the transfer, then records it settled: asked for the reference first.
    (event,) = MoneyToGiveBack.objects.all()
    chosen = {"action": "settle", "_selected_action": [event.pk]}
    asked = finance.post(MONEY_TO_GIVE_BACK, chosen).content.decode()
    assert f"order refund failed — {order.tenant} — order {order.pk} — 49.00 EUR" in asked
    blank = finance.post(MONEY_TO_GIVE_BACK, {**chosen, "apply": "1", "reference": " "})
    assert "This field is required" in blank.content.decode()
    done = finance.post(
        MONEY_TO_GIVE_BACK, {**chosen, "apply": "1", "reference": "SEPA back 77"}, follow=True
    )
    assert f"Order {order.pk}: settled (SEPA back 77)." in done.content.decode()
    (row,) = rows_of(done.content.decode())
    assert row[-1] == "SEPA back 77"
    assert rows_of(finance.get(MONEY_TO_GIVE_BACK, {"settled": "no"}).content.decode()) == []
    again = finance.post(
        MONEY_TO_GIVE_BACK, {**chosen, "apply": "1", "reference": "again"}, follow=True
    )
    assert "It was settled already (SEPA back 77)." in again.content.decode()
    (settled,) = AuditEvent.objects.filter(action="money_to_give_back_settled")
    assert settled.details == {
        "event": event.pk,
        "action": "order_refund_failed",
        "amount": 4900,
        "currency": order.currency,
        "reference": "SEPA back 77",
        "source": "by_hand",
    }
    assert settled.tenant == order.tenant and settled.actor is not None


def test_an_order_s_refund_failing_with_its_webhook_lost_is_found_by_the_beat_job(
    payer,
    agent,
    make_plan,  # noqa: F811
    admin_session,
    clock,
):
    """The beat job asks Stripe for the refunds of each order refunded in the last 30 days:
    one that failed is told to finance once, as its webhook would have."""
    order = bought(payer, agent, make_plan)
    finance, _ = admin_session("finance")
    refund_in_admin(finance, order.pk)
    order.refresh_from_db()
    assert order.refunded_at is not None
    assert tasks.recheck_card_refunds.apply().get() == {"failed": {}, "errors": {}}
    (refund,) = (
        stripe_client().v1.refunds.list(params={"payment_intent": order.payment_intent_id}).data
    )

    card_refund_fails(refund.id)  # and Stripe's webhook never arrives
    clock.shift(timedelta(days=3))
    found = tasks.recheck_card_refunds.apply().get()

    assert found == {
        "failed": {f"order {order.pk}": f"order {order.pk} refund failed"},
        "errors": {},
    }
    (failed,) = AuditEvent.objects.filter(action="order_refund_failed")
    assert failed.details["refund"] == refund.id
    assert MoneyToGiveBack.objects.count() == 1
    # Told once: the next run finds nothing new.
    assert tasks.recheck_card_refunds.apply().get() == {"failed": {}, "errors": {}}
    assert AuditEvent.objects.filter(action="order_refund_failed").count() == 1


def test_a_refund_that_failed_before_the_order_was_refunded_in_full_is_no_alarm(
    payer,
    agent,
    make_plan,  # noqa: F811
    admin_session,
):
    """A partial refund failed (made in Stripe's dashboard, say), then finance refunded the
    order: the money went back, so the beat job tells finance nothing."""
    order = bought(payer, agent, make_plan)
    early = stripe_client().v1.refunds.create(
        params={"payment_intent": order.payment_intent_id, "amount": 100}
    )
    card_refund_fails(early.id)
    finance, _ = admin_session("finance")
    refund_in_admin(finance, order.pk)
    assert refunded_of(order.payment_intent_id) == 4900

    assert tasks.recheck_card_refunds.apply().get() == {"failed": {}, "errors": {}}
    assert not AuditEvent.objects.filter(action="order_refund_failed").exists()
