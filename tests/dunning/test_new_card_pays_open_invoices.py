"""A card saved (or chosen as default) after an invoice went unpaid is tried on that invoice
at once: the open invoice that had no card, the one in dunning, the uncollectible one (whose
suspended entitlements come back). One attempt each, with the usual idempotency key; a task
delivered twice charges once."""

import pytest

from billing import collection, tasks
from billing.models import Invoice, InvoiceStatus
from edgeplug.audit.models import AuditEvent
from marketplace.models import Entitlement, EntitlementStatus
from tests.dunning.conftest import DECLINED, GOOD, days, intents_of, save_card, signed_in

pytestmark = pytest.mark.django_db


def test_the_first_card_saved_pays_the_invoice_that_had_none(invoiced, committed, clock):
    customer, invoice = invoiced(card=None)
    api = signed_in(customer)
    shown = api.get(f"/api/v1/invoices/{invoice.pk}").json()  # the tenant sees why
    assert (shown["status"], shown["payment_failure_code"]) == ("open", "payment_method_required")
    assert "/api/v1/billing/payment-methods" in shown["payment_failure_detail"]
    assert shown["payment_attempts"] == 0 and shown["next_payment_attempt_at"] is None
    committed(save_card, api, GOOD)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID and invoice.payment_attempts == 1
    assert invoice.payment_failure_code == ""
    shown = api.get(f"/api/v1/invoices/{invoice.pk}").json()
    assert (shown["status"], shown["payment_attempts"], shown["payment_failure_code"]) == (
        "paid",
        1,
        "",
    )
    (intent,) = intents_of(customer.tenant)
    assert (intent.id, intent.status) == (invoice.payment_intent_id, "succeeded")
    assert intent.metadata["attempt"] == "1"
    assert AuditEvent.objects.filter(action="invoice_payment_on_new_card").count() == 1


def test_a_new_default_card_pays_an_invoice_in_dunning_and_stops_the_retries(
    invoiced, committed, clock
):
    customer, invoice = invoiced(card=DECLINED)
    assert invoice.status == InvoiceStatus.PAYMENT_FAILED
    api = signed_in(customer)
    card = committed(save_card, api, GOOD)  # not the default yet: nothing is charged
    invoice.refresh_from_db()
    assert invoice.payment_attempts == 1 and len(intents_of(customer.tenant)) == 1
    made_default = committed(api.post, f"/api/v1/billing/payment-methods/{card['id']}/default")
    assert made_default.status_code == 200
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID and invoice.payment_attempts == 2
    assert invoice.next_payment_attempt_at is None
    assert [i.status for i in intents_of(customer.tenant)] == [
        "requires_payment_method",
        "succeeded",
    ]
    # Making it the default again changes nothing and charges nothing.
    committed(api.post, f"/api/v1/billing/payment-methods/{card['id']}/default")
    clock.move_to(days(1))
    assert committed(tasks.retry_due_invoice_payments) == {"attempted": {}, "errors": {}}
    assert len(intents_of(customer.tenant)) == 2


def test_a_new_card_pays_an_uncollectible_invoice_and_reactivates_the_tenant(
    uncollectible, committed
):
    customer, invoice = uncollectible  # suspended
    entitlement = Entitlement.objects.get(pk=customer.entitlement.pk)
    api = signed_in(customer)
    card = save_card(api, GOOD)
    committed(api.post, f"/api/v1/billing/payment-methods/{card['id']}/default")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID and invoice.payment_attempts == 2
    entitlement.refresh_from_db()
    assert entitlement.status == EntitlementStatus.ACTIVE


def test_a_new_card_that_is_declined_too_moves_the_dunning_on(invoiced, committed, clock):
    customer, invoice = invoiced(card=None)
    committed(save_card, signed_in(customer), DECLINED)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAYMENT_FAILED
    assert (invoice.payment_attempts, invoice.next_payment_attempt_at) == (1, days(1))


def test_the_task_delivered_twice_charges_once(invoiced, clock):
    customer, invoice = invoiced(card=None)
    save_card(signed_in(customer), GOOD)  # its task is not run: the test runs it twice
    assert tasks.collect_with_new_card(invoice.pk, 0) == InvoiceStatus.PAID
    assert tasks.collect_with_new_card(invoice.pk, 0) == InvoiceStatus.PAID
    assert Invoice.objects.get(pk=invoice.pk).payment_attempts == 1
    assert len(intents_of(customer.tenant)) == 1
    assert collection.idempotency_key(invoice, 1) == f"edgeplug-invoice-{invoice.pk}-attempt-1"


def test_paid_and_void_invoices_are_not_charged_on_a_new_card(
    payer, finalize, committed, clock, settings
):
    customer = payer(card=GOOD)
    paid = finalize(customer.draft)
    assert paid.status == InvoiceStatus.PAID
    card = committed(save_card, signed_in(customer), GOOD)
    committed(signed_in(customer).post, f"/api/v1/billing/payment-methods/{card['id']}/default")
    assert len(intents_of(customer.tenant)) == 1
    assert Invoice.objects.get(pk=paid.pk).payment_attempts == 1
