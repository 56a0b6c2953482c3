"""A card saved (or made the default) while the broker is down still pays the tenant's unpaid
invoices: the beat job makes each attempt on it whose task was lost once
``BILLING_FIRST_CHARGE_GRACE_MINUTES`` have passed, and so does it when the processor was down
for all the task's retries. The task and the job make one charge between them."""

from datetime import timedelta

import pytest

from billing import tasks
from billing.errors import PaymentProcessorError
from billing.models import Invoice, InvoiceStatus
from edgeplug.audit.models import AuditEvent
from marketplace.models import Entitlement, EntitlementStatus
from tests.dunning.conftest import GOOD, days, intents_of, save_card, signed_in

pytestmark = pytest.mark.django_db

NOTHING_CHARGED = {"attempted": {}, "errors": {}}
NEW_CARD_TASK = "billing.tasks.collect_with_new_card"


def caught_up() -> dict:
    """A run of the beat job that makes the new card's lost attempts."""
    return tasks.collect_missed_new_card_charges.apply().get()


def paid_once(invoice, attempt: int) -> None:
    """The invoice was paid by one PaymentIntent, attempt ``attempt``, and by no other."""
    invoice.refresh_from_db()
    assert (invoice.status, invoice.payment_attempts) == (InvoiceStatus.PAID, attempt)
    succeeded = [i for i in intents_of(invoice.tenant) if i.status == "succeeded"]
    assert [(i.id, i.metadata["attempt"]) for i in succeeded] == [
        (invoice.payment_intent_id, str(attempt))
    ]


def test_a_card_saved_while_the_broker_is_down_pays_the_open_invoice_after_the_grace(
    invoiced, clock, committed, broker_refuses
):
    customer, invoice = invoiced(card=None)
    assert invoice.payment_failure_code == "payment_method_required"
    broker_refuses.everything = True
    assert committed(save_card, signed_in(customer), GOOD)["is_default"]
    assert broker_refuses.refused == [(NEW_CARD_TASK, (invoice.pk, 0))]
    broker_refuses.everything = False

    clock.shift(timedelta(minutes=14))  # its task may still be on its way: left alone
    assert caught_up() == NOTHING_CHARGED
    assert Invoice.objects.get(pk=invoice.pk).payment_attempts == 0

    clock.shift(timedelta(minutes=2))
    assert caught_up() == {"attempted": {invoice.number: "paid"}, "errors": {}}
    paid_once(invoice, 1)
    audit = AuditEvent.objects.get(action="invoice_payment_on_new_card")
    assert audit.details["queued_at"] == "2026-02-04T09:00:00Z"

    # Once is enough: no beat job charges it again.
    for n in (1, 2, 7, 30):
        clock.move_to(days(n))
        assert caught_up() == NOTHING_CHARGED
        assert committed(tasks.retry_due_invoice_payments.apply).get() == NOTHING_CHARGED
    paid_once(invoice, 1)


def test_a_default_card_chosen_while_the_broker_is_down_pays_the_uncollectible_invoice(
    uncollectible, clock, committed, broker_refuses
):
    customer, invoice = uncollectible  # suspended
    api = signed_in(customer)
    card = save_card(api, GOOD)  # not the default: the declined card is
    broker_refuses.everything = True
    made_default = committed(api.post, f"/api/v1/billing/payment-methods/{card['id']}/default")
    assert made_default.status_code == 200
    assert broker_refuses.refused == [(NEW_CARD_TASK, (invoice.pk, 1))]
    broker_refuses.everything = False

    clock.shift(timedelta(minutes=16))
    assert caught_up() == {"attempted": {invoice.number: "paid"}, "errors": {}}
    paid_once(invoice, 2)
    entitlement = Entitlement.objects.get(pk=customer.entitlement.pk)
    assert entitlement.status == EntitlementStatus.ACTIVE
    clock.move_to(days(30))
    assert caught_up() == NOTHING_CHARGED


def test_a_task_that_comes_within_the_grace_charges_and_the_job_does_not(invoiced, clock):
    customer, invoice = invoiced(card=None)
    save_card(signed_in(customer), GOOD)  # its task is queued, not run yet
    clock.shift(timedelta(minutes=14))
    assert caught_up() == NOTHING_CHARGED
    assert tasks.collect_with_new_card(invoice.pk, 0) == InvoiceStatus.PAID
    clock.shift(timedelta(days=1))
    assert caught_up() == NOTHING_CHARGED
    paid_once(invoice, 1)


def test_a_new_card_charge_given_up_in_a_processor_outage_is_made_once_it_is_back(
    invoiced, clock, processor
):
    customer, invoice = invoiced(card=None)
    save_card(signed_in(customer), GOOD)
    processor.down()
    with pytest.raises(PaymentProcessorError):  # each of its tries, until it gives up
        tasks.collect_with_new_card(invoice.pk, 0)
    assert Invoice.objects.get(pk=invoice.pk).payment_attempts == 0  # rolled back

    clock.shift(timedelta(minutes=16))
    still_down = caught_up()
    assert still_down["attempted"] == {}
    assert "payment processor failed" in still_down["errors"][invoice.number]

    processor.up()
    clock.shift(timedelta(minutes=15))
    assert caught_up() == {"attempted": {invoice.number: "paid"}, "errors": {}}
    # The task delivered again after the job: the attempt count has moved, nothing is charged.
    assert tasks.collect_with_new_card(invoice.pk, 0) == InvoiceStatus.PAID
    assert caught_up() == NOTHING_CHARGED
    paid_once(invoice, 1)
