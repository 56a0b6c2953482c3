"""Stripe webhooks about an invoice's PaymentIntents: each event id is handled once, the
intent is re-fetched, and replays or any delivery order pay the invoice once and never move
the dunning twice."""

import pytest
from django.utils import timezone

from billing import collection, tasks
from billing.models import Invoice, InvoiceStatus, WebhookEvent
from edgeplug.audit.models import AuditEvent
from marketplace.models import Entitlement
from tests.commerce.conftest import event, signed_webhook
from tests.dunning.conftest import GOOD, NEEDS_3DS, TOTAL, days, intents_of, stripe_client

pytestmark = pytest.mark.django_db


def intent_event(event_id, kind, intent_id):
    return event(event_id, kind, {"id": intent_id, "object": "payment_intent"})


def authenticate(intent_id):
    """The card holder passes 3-D Secure for this intent (from the bank's email link)."""
    intent = stripe_client().v1.payment_intents.retrieve(intent_id)
    stripe_client().raw_request(
        "post",
        f"/v1/payment_intents/{intent_id}/_authenticate",
        client_secret=intent.client_secret,
        success="true",
    )


def deliver(api, committed, payload):
    response = committed(signed_webhook, api, payload)
    assert response.status_code == 200, response.content
    return response


def test_replayed_and_reordered_events_pay_the_invoice_once(invoiced, committed, api, notices):
    customer, invoice = invoiced(card=NEEDS_3DS)
    # Off-session nobody can authenticate: the attempt fails and dunning starts.
    assert invoice.status == InvoiceStatus.PAYMENT_FAILED
    assert invoice.payment_failure_code == "authentication_required"
    intent = invoice.payment_intent_id
    authenticate(intent)

    failed = intent_event("evt_inv_failed", "payment_intent.payment_failed", intent)
    action = intent_event("evt_inv_action", "payment_intent.requires_action", intent)
    succeeded = intent_event("evt_inv_ok", "payment_intent.succeeded", intent)
    for payload in (failed, succeeded, succeeded, action, failed, succeeded):
        deliver(api, committed, payload)

    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert invoice.payment_attempts == 1 and invoice.next_payment_attempt_at is None
    assert AuditEvent.objects.filter(action="invoice_paid").count() == 1
    assert AuditEvent.objects.filter(action="invoice_payment_failed").count() == 1
    assert WebhookEvent.objects.filter(event_id__startswith="evt_inv_").count() == 3
    assert len(notices) == 1  # the first failure's notice, no more
    assert len(intents_of(customer.tenant)) == 1  # webhooks never charge
    assert not AuditEvent.objects.filter(action="invoice_paid_twice").exists()
    assert committed(tasks.retry_due_invoice_payments) == {"attempted": {}, "errors": {}}


def test_a_late_failure_of_an_earlier_attempt_changes_nothing(
    invoiced, committed, clock, api, notices
):
    _, invoice = invoiced(card=NEEDS_3DS)
    first = invoice.payment_intent_id
    clock.move_to(days(1))
    committed(tasks.retry_due_invoice_payments)
    invoice.refresh_from_db()
    assert invoice.payment_attempts == 2 and invoice.payment_intent_id != first
    before = (invoice.status, invoice.next_payment_attempt_at, len(notices))

    deliver(api, committed, intent_event("evt_old", "payment_intent.payment_failed", first))
    deliver(api, committed, intent_event("evt_old2", "payment_intent.canceled", first))
    invoice.refresh_from_db()
    assert (invoice.status, invoice.next_payment_attempt_at, len(notices)) == before
    assert invoice.payment_attempts == 2
    assert AuditEvent.objects.filter(action="invoice_payment_failed").count() == 2


def test_an_earlier_attempt_paid_late_settles_the_invoice(invoiced, committed, clock, api):
    _, invoice = invoiced(card=NEEDS_3DS)
    first = invoice.payment_intent_id
    clock.move_to(days(1))
    committed(tasks.retry_due_invoice_payments)
    authenticate(first)  # the customer answers the bank's first request after all
    deliver(api, committed, intent_event("evt_first_ok", "payment_intent.succeeded", first))
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID and invoice.payment_intent_id == first


def test_a_payment_after_suspension_reactivates_the_entitlements(
    invoiced, committed, api, settings
):
    settings.BILLING_DUNNING_DAYS = []
    customer, invoice = invoiced(card=NEEDS_3DS)
    assert invoice.status == InvoiceStatus.UNCOLLECTIBLE
    assert Entitlement.objects.get(pk=customer.entitlement.pk).status == "suspended"
    authenticate(invoice.payment_intent_id)
    ok = intent_event("evt_late_ok", "payment_intent.succeeded", invoice.payment_intent_id)
    deliver(api, committed, ok)
    deliver(api, committed, ok)
    assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.PAID
    assert Entitlement.objects.get(pk=customer.entitlement.pk).status == "active"
    assert AuditEvent.objects.filter(action="entitlement_reactivated").count() == 1
    assert (
        collection.invoice_id_of(collection.payments.payment_status(invoice.payment_intent_id))
        == invoice.pk
    )


SETTLED_OTHERWISE = {
    "offline": {
        "status": InvoiceStatus.PAID,
        "paid_at": days(2),
        "payment_reference": "SEPA E2E 2026-02-06 ACME",
    },
    "void": {
        "status": InvoiceStatus.VOID,
        "paid_at": None,
        "voided_at": days(2),
        "void_reason": "Billed the wrong entity",
    },
}


@pytest.mark.parametrize("settled", SETTLED_OTHERWISE)
def test_a_charge_that_succeeds_after_the_invoice_was_settled_otherwise_is_recorded(
    invoiced, committed, api, settled
):
    """The charge was still processing when finance recorded a bank transfer or voided the
    invoice (as the admin allowed before it refused that): its success arriving later took
    money nobody owed. The invoice stays as finance left it, and finance is told to refund,
    once however often Stripe tells us."""
    customer, invoice = invoiced(card=GOOD)
    intent = invoice.payment_intent_id
    Invoice.objects.filter(pk=invoice.pk).update(
        next_payment_attempt_at=None, updated_at=timezone.now(), **SETTLED_OTHERWISE[settled]
    )
    paid_before = AuditEvent.objects.filter(action="invoice_paid").count()

    deliver(api, committed, intent_event("evt_late_ok", "payment_intent.succeeded", intent))
    deliver(api, committed, intent_event("evt_late_ok2", "payment_intent.processing", intent))

    invoice.refresh_from_db()
    assert invoice.status == SETTLED_OTHERWISE[settled]["status"]
    assert invoice.paid_at == SETTLED_OTHERWISE[settled]["paid_at"]
    twice = AuditEvent.objects.get(action="invoice_paid_twice")
    assert twice.tenant == customer.tenant
    assert twice.details["payment_intent"] == intent
    assert twice.details["status"] == invoice.status
    assert (twice.details["amount"], twice.details["currency"]) == (TOTAL, invoice.currency)
    assert twice.details["reference"] == invoice.payment_reference
    assert AuditEvent.objects.filter(action="invoice_paid").count() == paid_before
