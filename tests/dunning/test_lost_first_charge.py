"""A finalized invoice is charged and emailed even when its tasks are lost. A publish that
fails as a batch finalize commits (the broker down) drops no other invoice's charge or email,
and the beat jobs charge and email that invoice once ``BILLING_FIRST_CHARGE_GRACE_MINUTES``
have passed; a first charge whose task gave up during a processor outage is made once the
processor is back. One invoice the beat job cannot charge does not stop the others."""

from datetime import timedelta

import pytest

from billing import collection, invoicing, payments, tasks
from billing.errors import PaymentProcessorError
from billing.models import Invoice, InvoiceStatus
from edgeplug.audit.models import AuditEvent
from tests.dunning.conftest import DECLINED, days, intents_of

pytestmark = pytest.mark.django_db

NOTHING_CHARGED = {"attempted": {}, "errors": {}}
NOTHING_EMAILED = {"queued": [], "no_recipients": [], "not_queued": []}


def emailed(outbox) -> list[str]:
    """The numbers of the invoices emailed (the messages with their PDF attached)."""
    return [
        message.attachments[0][0].removesuffix(".pdf") for message in outbox if message.attachments
    ]


def charges_fail_for(tenant, monkeypatch):
    """Charging ``tenant`` raises what nobody expected; others are charged. The real charge."""
    charge = payments.charge_off_session

    def charge_but_not_theirs(payer, *args, **kwargs):
        if payer.pk == tenant.pk:
            raise RuntimeError("unexpected answer")
        return charge(payer, *args, **kwargs)

    monkeypatch.setattr(payments, "charge_off_session", charge_but_not_theirs)
    return charge


def test_a_publish_lost_at_a_batch_finalize_drops_no_other_invoice_and_is_caught_up(
    payer, clock, committed, broker_refuses, mailoutbox
):
    drafts = [payer().draft for _ in range(3)]
    broker_refuses.invoice_ids.add(drafts[0].pk)  # the broker fails for the first one's tasks

    assert len(committed(invoicing.finalize_due_invoices).finalized) == 3

    lost, *others = [Invoice.objects.get(pk=draft.pk) for draft in drafts]
    assert sorted(broker_refuses.refused) == [
        ("billing.tasks.collect_invoice_payment", (lost.pk,)),
        ("billing.tasks.email_invoice", (lost.pk,)),
    ]
    assert [invoice.status for invoice in others] == [InvoiceStatus.PAID] * 2
    assert sorted(emailed(mailoutbox)) == sorted(invoice.number for invoice in others)
    assert (lost.status, lost.payment_attempts, lost.emailed_at) == (InvoiceStatus.OPEN, 0, None)

    broker_refuses.invoice_ids.clear()  # the broker is back
    clock.shift(timedelta(minutes=14))  # its tasks may still be on their way: left alone
    assert committed(tasks.collect_missed_first_charges.apply).get() == NOTHING_CHARGED
    assert committed(tasks.email_missed_invoices.apply).get() == NOTHING_EMAILED

    clock.shift(timedelta(minutes=2))
    charged = committed(tasks.collect_missed_first_charges.apply).get()
    assert charged == {"attempted": {lost.number: InvoiceStatus.PAID}, "errors": {}}
    queued = committed(tasks.email_missed_invoices.apply).get()
    assert queued == {**NOTHING_EMAILED, "queued": [lost.number]}
    lost.refresh_from_db()
    assert (lost.status, lost.payment_attempts) == (InvoiceStatus.PAID, 1)
    assert lost.emailed_at is not None
    assert sorted(emailed(mailoutbox)) == sorted([lost.number, *(i.number for i in others)])
    caught_up = AuditEvent.objects.get(action="invoice_first_charge_caught_up")
    assert caught_up.details["invoice"] == lost.pk

    # Once is enough: the next runs find nothing, and the tenant was charged once.
    clock.shift(timedelta(minutes=15))
    assert committed(tasks.collect_missed_first_charges.apply).get() == NOTHING_CHARGED
    assert committed(tasks.email_missed_invoices.apply).get() == NOTHING_EMAILED
    assert len(mailoutbox) == 3
    (intent,) = intents_of(lost.tenant)
    assert intent.id == lost.payment_intent_id


def test_a_first_charge_given_up_in_a_processor_outage_is_made_once_it_is_back(
    payer, clock, processor, monkeypatch
):
    customer = payer()
    invoice = invoicing.finalize_invoice(customer.draft)
    processor.down()
    monkeypatch.setattr(tasks.collect_invoice_payment, "max_retries", 1)

    # The finalize's task retries, then gives up: each try rolled back, nothing recorded.
    given_up = tasks.collect_invoice_payment.apply(args=(invoice.pk,), throw=False)
    assert given_up.state == "FAILURE" and isinstance(given_up.result, PaymentProcessorError)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.payment_attempts) == (InvoiceStatus.OPEN, 0)
    assert invoice.next_payment_attempt_at is None and invoice.payment_failure_code == ""
    assert collection.retry_due_invoice_payments(now=days(30)).attempted == {}  # not its job

    clock.shift(timedelta(minutes=16))
    still_down = tasks.collect_missed_first_charges.apply().get()
    assert still_down["attempted"] == {}
    assert "payment processor failed" in still_down["errors"][invoice.number]

    processor.up()
    clock.shift(timedelta(minutes=15))
    assert tasks.collect_missed_first_charges.apply().get() == {
        "attempted": {invoice.number: InvoiceStatus.PAID},
        "errors": {},
    }
    invoice.refresh_from_db()
    (intent,) = intents_of(customer.tenant)
    assert (invoice.status, invoice.payment_attempts) == (InvoiceStatus.PAID, 1)
    assert (intent.id, intent.metadata["attempt"]) == (invoice.payment_intent_id, "1")


def test_one_invoice_the_beat_job_cannot_charge_does_not_stop_the_others(
    payer, clock, committed, monkeypatch
):
    broken, fine = payer(), payer()
    first = invoicing.finalize_invoice(broken.draft)
    second = invoicing.finalize_invoice(fine.draft)
    charge = charges_fail_for(broken.tenant, monkeypatch)
    clock.shift(timedelta(minutes=16))
    run = committed(collection.collect_missed_first_charges)
    assert run.attempted == {second.number: InvoiceStatus.PAID}
    assert run.errors == {first.number: "RuntimeError: unexpected answer"}
    first.refresh_from_db()
    assert (first.status, first.payment_attempts) == (InvoiceStatus.OPEN, 0)  # for the next run

    monkeypatch.setattr(payments, "charge_off_session", charge)
    clock.shift(timedelta(minutes=15))
    assert committed(collection.collect_missed_first_charges).attempted == {
        first.number: InvoiceStatus.PAID
    }


def test_one_invoice_the_dunning_job_cannot_retry_does_not_stop_the_others(
    payer, clock, committed, monkeypatch
):
    """The dunning retries share the loop (before: the unexpected error ended the job, and
    the same invoice, first in line, ended every run after it)."""
    broken, fine = payer(), payer()
    first = invoicing.finalize_invoice(broken.draft)
    second = invoicing.finalize_invoice(fine.draft)
    Invoice.objects.filter(pk__in=[first.pk, second.pk]).update(
        status=InvoiceStatus.PAYMENT_FAILED, payment_attempts=1, next_payment_attempt_at=days(0)
    )
    charges_fail_for(broken.tenant, monkeypatch)
    run = committed(collection.retry_due_invoice_payments)
    assert run.attempted == {second.number: InvoiceStatus.PAID}
    assert run.errors == {first.number: "RuntimeError: unexpected answer"}


def test_an_invoice_left_open_for_want_of_a_card_is_not_charged_by_the_beat_job(
    invoiced, clock, committed, notices
):
    _, invoice = invoiced(card=None)
    assert invoice.payment_failure_code == "payment_method_required"
    clock.shift(timedelta(hours=1))
    assert committed(tasks.collect_missed_first_charges.apply).get() == NOTHING_CHARGED
    assert len(notices) == 1  # the "no card on file" notice of the finalize, not a second


def test_a_notice_the_broker_refuses_does_not_stop_the_dunning_job(
    payer, clock, committed, broker_refuses
):
    """Its publish is logged and dropped (the invoice's failure is recorded and audited); the
    job goes on to the next invoice (before: the commit hook's error ended the job)."""
    declined, fine = payer(card=DECLINED), payer()
    first = invoicing.finalize_invoice(declined.draft)
    second = invoicing.finalize_invoice(fine.draft)
    Invoice.objects.filter(pk__in=[first.pk, second.pk]).update(
        status=InvoiceStatus.PAYMENT_FAILED, payment_attempts=1, next_payment_attempt_at=days(0)
    )
    broker_refuses.invoice_ids = {first.pk}

    run = committed(collection.retry_due_invoice_payments)

    assert run.attempted == {
        first.number: InvoiceStatus.PAYMENT_FAILED,
        second.number: InvoiceStatus.PAID,
    }
    assert broker_refuses.refused == [
        ("billing.tasks.send_payment_notice", (first.pk, "payment_failed", 2))
    ]
