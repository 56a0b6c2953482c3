"""A credit note of an unpaid invoice gives back part of what it asks: the amount due is the
total less its prepaid lines less what credit notes gave back, a charge takes only the rest,
and an invoice credited in full is settled (paid, audited ``source: credit_note``): the
dunning stops charging it and an uncollectible one gives the entitlements back."""

import pytest

from billing import tasks
from billing.models import Invoice, InvoiceKind, InvoiceStatus, LineKind
from edgeplug.audit.models import AuditEvent
from marketplace.models import Entitlement
from tests.dunning.conftest import (
    DECLINED,
    GOOD,
    TOTAL,
    days,
    intents_of,
    save_card,
    signed_in,
)
from tests.dunning.test_payment_admin import INVOICES

pytestmark = pytest.mark.django_db

FEE_CREDIT = 1190  # the 10.00 monthly fee plus its 19 % VAT


def credit_in_full(client, invoice):
    return client.post(
        INVOICES, {"action": "credit_in_full", "_selected_action": [invoice.pk]}, follow=True
    )


def test_an_uncollectible_invoice_credited_in_full_is_settled_and_the_tenant_active_again(
    uncollectible, admin_session
):
    customer, invoice = uncollectible
    client, user = admin_session("finance")
    page = credit_in_full(client, invoice)
    note = Invoice.objects.get(kind=InvoiceKind.CREDIT_NOTE)
    assert f": credit note {note.number}." in page.content.decode()
    assert note.total == -TOTAL

    shown = signed_in(customer).get(f"/api/v1/invoices/{invoice.pk}").json()
    assert shown["status"] == "paid"
    assert (shown["credited_amount"], shown["amount_due"], shown["amount_remaining"]) == (
        TOTAL,
        0,
        0,
    )
    assert shown["amount_paid"] == 0  # nothing was paid: it was given back
    assert Entitlement.objects.get(pk=customer.entitlement.pk).status == "active"
    settled = AuditEvent.objects.get(action="invoice_paid")
    assert settled.details["source"] == "credit_note"
    assert settled.details["reference"] == f"credit note {note.number}"
    assert settled.actor == user
    assert AuditEvent.objects.filter(action="entitlement_reactivated").count() == 1
    assert len(intents_of(customer.tenant)) == 1  # the declined first charge only


def test_the_dunning_does_not_charge_an_invoice_credited_in_full(
    invoiced, admin_session, committed, clock
):
    customer, invoice = invoiced(card=DECLINED)
    assert (invoice.status, invoice.next_payment_attempt_at) == (
        InvoiceStatus.PAYMENT_FAILED,
        days(1),
    )
    client, _ = admin_session("finance")
    credit_in_full(client, invoice)

    clock.move_to(days(30))
    run = committed(lambda: tasks.retry_due_invoice_payments.apply().get())
    assert run == {"attempted": {}, "errors": {}}
    invoice.refresh_from_db()
    assert (invoice.status, invoice.payment_attempts) == (InvoiceStatus.PAID, 1)
    assert invoice.next_payment_attempt_at is None
    assert len(intents_of(customer.tenant)) == 1


def test_a_partly_credited_invoice_is_charged_only_the_rest(
    invoiced, admin_session, committed, clock
):
    customer, invoice = invoiced(card=DECLINED)
    client, _ = admin_session("finance")
    fee = invoice.lines.get(kind=LineKind.FLAT_FEE)
    client.post(f"{INVOICES}{invoice.pk}/credit/", {"line": [fee.pk], "reason": "fee waived"})
    shown = signed_in(customer).get(f"/api/v1/invoices/{invoice.pk}").json()
    assert (shown["status"], shown["amount_due"]) == ("payment_failed", TOTAL - FEE_CREDIT)
    assert shown["credited_amount"] == FEE_CREDIT

    clock.move_to(days(1))
    api = signed_in(customer)
    card = committed(save_card, api, GOOD)
    committed(api.post, f"/api/v1/billing/payment-methods/{card['id']}/default")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    charged = intents_of(customer.tenant)[-1]
    assert (charged.status, charged.amount) == ("succeeded", TOTAL - FEE_CREDIT)
    shown = api.get(f"/api/v1/invoices/{invoice.pk}").json()
    assert (shown["amount_paid"], shown["amount_remaining"]) == (TOTAL - FEE_CREDIT, 0)
    paid = AuditEvent.objects.get(action="invoice_paid")
    assert (paid.details["source"], paid.details["amount"]) == ("card", TOTAL - FEE_CREDIT)
