"""On finalize the invoice is charged once, off-session, on the tenant's default card; the
PaymentIntent's idempotency key is fixed per invoice and attempt, so a repeated or crashed
attempt never makes a second charge."""

from datetime import timedelta

import pytest

from billing import collection, invoicing, payments, tasks
from billing.models import Invoice, InvoiceStatus, PaymentMethod
from edgeplug.audit.models import AuditEvent
from tests.dunning.conftest import (
    GOOD,
    TOTAL,
    days,
    intents_of,
    save_card,
    signed_in,
    stripe_client,
)

pytestmark = pytest.mark.django_db


def test_finalize_charges_the_default_card_and_the_invoice_is_paid(invoiced, clock, notices):
    customer, invoice = invoiced()
    assert invoice.status == InvoiceStatus.PAID
    assert invoice.payment_attempts == 1 and invoice.next_payment_attempt_at is None
    (intent,) = intents_of(customer.tenant)
    assert (intent.id, intent.status) == (invoice.payment_intent_id, "succeeded")
    assert (intent.amount, intent.currency) == (TOTAL, "eur")
    assert intent.metadata["invoice"] == str(invoice.pk)
    assert intent.metadata["attempt"] == "1"
    paid = AuditEvent.objects.get(action="invoice_paid")
    assert paid.details["source"] == "card" and paid.details["amount"] == TOTAL
    assert notices == []  # no dunning notice for a paid invoice


def test_without_a_card_the_invoice_stays_open_and_the_tenant_is_told(invoiced, clock, notices):
    _, invoice = invoiced(card=None)
    assert invoice.status == InvoiceStatus.OPEN
    assert invoice.payment_failure_code == "payment_method_required"
    assert "/api/v1/billing/payment-methods" in invoice.payment_failure_detail
    assert invoice.payment_attempts == 0 and invoice.next_payment_attempt_at is None
    (mail,) = notices
    assert mail.to == ["ap@acme.example"]
    assert mail.subject == f"Invoice {invoice.number}: no card on file"
    assert "14.28 EUR" in mail.body
    assert AuditEvent.objects.filter(action="invoice_payment_not_attempted").count() == 1
    # Running the task again neither charges nor writes again.
    assert tasks.collect_invoice_payment(invoice.pk) == "payment_method_required"
    assert len(notices) == 1


def test_the_same_attempt_never_creates_two_payment_intents(invoiced, clock):
    customer, invoice = invoiced()
    key = collection.idempotency_key(invoice, 1)
    assert key == f"edgeplug-invoice-{invoice.pk}-attempt-1"
    again = payments.charge_off_session(
        customer.tenant,
        invoice.amount_due,
        invoice.currency,
        idempotency_key=key,
        metadata={
            "invoice": str(invoice.pk),
            "number": invoice.number,
            "attempt": "1",
            "tenant": str(invoice.tenant_id),
        },
    )
    assert again.payment_intent_id == invoice.payment_intent_id
    assert len(intents_of(customer.tenant)) == 1
    # The task delivered twice (acks_late after a worker crash) does not charge again.
    assert tasks.collect_invoice_payment(invoice.pk) == InvoiceStatus.PAID
    assert len(intents_of(customer.tenant)) == 1


def test_an_invoice_given_the_id_of_one_lost_in_a_restore_is_charged_on_another_key():
    """From ``KEYS_NAME_CREATION_SINCE`` on the key names the invoice's creation time too:
    after a restore rewinds the id sequence, a new invoice with a lost one's id does not send
    its keys (Stripe remembers them 24 hours). Invoices created before keep their keys."""
    since = payments.KEYS_NAME_CREATION_SINCE
    lost = Invoice(pk=7, created_at=since + timedelta(hours=1))
    new = Invoice(pk=7, created_at=since + timedelta(hours=2, milliseconds=5, microseconds=7))
    older = Invoice(pk=7, created_at=since - timedelta(microseconds=1))
    assert collection.idempotency_key(lost, 2) == "edgeplug-invoice-7-20270101T010000000Z-attempt-2"
    assert collection.idempotency_key(new, 2) == "edgeplug-invoice-7-20270101T020000005Z-attempt-2"
    assert collection.idempotency_key(older, 2) == "edgeplug-invoice-7-attempt-2"


def test_a_crash_after_the_charge_repeats_the_same_attempt_and_the_same_intent(
    payer, clock, monkeypatch
):
    customer = payer()
    from billing import invoicing

    invoice = invoicing.finalize_invoice(customer.draft)
    real_apply = collection._apply

    def crash(*args, **kwargs):
        raise ConnectionError("worker lost after the processor answered")

    monkeypatch.setattr(collection, "_apply", crash)
    with pytest.raises(ConnectionError):
        collection.collect_invoice(invoice.pk)
    invoice.refresh_from_db()
    assert invoice.payment_attempts == 0 and invoice.payment_intent_id == ""
    monkeypatch.setattr(collection, "_apply", real_apply)
    assert collection.collect_invoice(invoice.pk).outcome == InvoiceStatus.PAID
    invoice.refresh_from_db()
    (intent,) = intents_of(customer.tenant)
    assert invoice.payment_intent_id == intent.id and invoice.payment_attempts == 1


def test_a_charge_the_processor_refused_fails_the_attempt_and_the_next_takes_a_new_key(
    payer, clock, committed, notices
):
    """Stripe answered the charge with an error (the saved card no longer exists there): it
    would answer that attempt's key the same way for good, so the attempt fails as a decline
    does, and the next one (here on a new card) takes the next key and pays."""
    customer = payer()
    (method,) = PaymentMethod.objects.filter(tenant=customer.tenant)
    stripe_client().raw_request("delete", f"/v1/payment_methods/{method.stripe_id}")
    invoice = invoicing.finalize_invoice(customer.draft)  # its charge task is run below
    assert committed(collection.collect_invoice, invoice.pk).outcome == "payment_failed"
    invoice.refresh_from_db()
    assert (invoice.status, invoice.payment_attempts, invoice.next_payment_attempt_at) == (
        InvoiceStatus.PAYMENT_FAILED,
        1,
        days(1),
    )
    assert invoice.payment_failure_code == "payment_processor_error"
    assert invoice.payment_intent_id == "" and intents_of(customer.tenant) == []
    (mail,) = notices
    assert mail.subject == f"Payment failed for invoice {invoice.number}"

    api = signed_in(customer)
    card = committed(save_card, api, GOOD)  # not the default yet
    made_default = committed(api.post, f"/api/v1/billing/payment-methods/{card['id']}/default")
    assert made_default.status_code == 200
    invoice.refresh_from_db()
    assert (invoice.status, invoice.payment_attempts) == (InvoiceStatus.PAID, 2)
    (intent,) = intents_of(customer.tenant)  # one charge, on attempt 2's key
    assert (intent.id, intent.status) == (invoice.payment_intent_id, "succeeded")
    assert intent.metadata["attempt"] == "2"
