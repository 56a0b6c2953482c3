"""A tenant whose card payment of an invoice failed pays it itself, now, with
``POST /api/v1/invoices/{id}/pay``: one attempt on its default card through finance's *Retry
payment now* (``collection.retry_invoice_payment``), audited with who asked. A success pays
the invoice and gives suspended entitlements back; a decline or a card asking for 3-D Secure
is a 402; an invoice that takes no payment a 409; another tenant's a 404."""

import pytest

from billing.models import Invoice, InvoiceStatus
from edgeplug.audit.models import AuditEvent
from marketplace.models import Entitlement
from tests.concurrency import needs_row_locks, race
from tests.dunning.conftest import DECLINED, GOOD, NEEDS_3DS, intents_of, save_card, signed_in
from tests.openapi_conformance import assert_documented

pytestmark = pytest.mark.django_db

PAY = "POST /api/v1/invoices/{id}/pay"


def pay(api, invoice):
    return api.post(f"/api/v1/invoices/{invoice.pk}/pay")


def card_fixed(customer):
    """The customer's card works again (topped up): a good card is its default, and the
    charge a new default card queues is not run (its task runs only once committed), so
    nothing has paid the invoice yet. Its API client."""
    api = signed_in(customer)
    card = save_card(api, GOOD)
    assert api.post(f"/api/v1/billing/payment-methods/{card['id']}/default").status_code == 200
    return api


def test_a_suspended_tenant_pays_its_uncollectible_invoice_and_gets_its_service_back(
    uncollectible,
):
    customer, invoice = uncollectible
    api = card_fixed(customer)
    assert Invoice.objects.get(pk=invoice.pk).payment_attempts == 1

    response = pay(api, invoice)

    assert response.status_code == 200, response.content
    assert_documented(response, PAY)
    assert response.json() == api.get(f"/api/v1/invoices/{invoice.pk}").json()
    assert response.json()["status"] == InvoiceStatus.PAID
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID and invoice.payment_attempts == 2
    assert Entitlement.objects.get(pk=customer.entitlement.pk).status == "active"
    asked = AuditEvent.objects.get(action="invoice_payment_retry_requested")
    assert asked.actor == customer.user
    assert asked.details["asked_by"] == "tenant"
    assert [i.metadata["attempt"] for i in intents_of(customer.tenant)] == ["1", "2"]

    # Paid now: asked again, it takes no payment and charges nothing.
    again = pay(api, invoice)
    assert again.status_code == 409 and again.json()["code"] == "invoice_not_collectable"
    assert_documented(again, PAY)
    assert Invoice.objects.get(pk=invoice.pk).payment_attempts == 2


def test_a_billing_member_whose_card_is_declined_again_gets_a_402_with_the_invoice(
    invoiced, member_client
):
    customer, invoice = invoiced(card=DECLINED)
    assert invoice.status == InvoiceStatus.PAYMENT_FAILED
    api, _ = member_client("billing", tenant=customer.tenant)

    response = pay(api, invoice)

    assert response.status_code == 402, response.content
    assert_documented(response, PAY)
    body = response.json()
    assert body["code"] == "card_declined"
    assert body["invoice"]["id"] == invoice.pk
    assert body["invoice"]["payment_attempts"] == 2
    assert body["invoice"]["status"] == InvoiceStatus.PAYMENT_FAILED
    assert len(intents_of(customer.tenant)) == 2


def test_a_card_asking_for_3d_secure_is_a_402_payment_failed(invoiced):
    customer, invoice = invoiced(card=NEEDS_3DS)
    response = pay(customer.api, invoice)
    assert response.status_code == 402, response.content
    assert_documented(response, PAY)
    assert response.json()["code"] == "payment_failed"
    assert response.json()["invoice"]["payment_failure_code"] == "authentication_required"


def test_without_a_card_it_is_payment_method_required(invoiced):
    customer, invoice = invoiced(card=None)
    assert invoice.status == InvoiceStatus.OPEN
    response = pay(customer.api, invoice)
    assert response.status_code == 402, response.content
    assert response.json()["code"] == "payment_method_required"
    assert_documented(response, PAY)
    assert Invoice.objects.get(pk=invoice.pk).payment_attempts == 0


def test_a_draft_a_paid_and_a_void_invoice_take_no_payment(payer, finalize):
    from billing import invoicing

    customer = payer(card=GOOD)
    draft = pay(customer.api, customer.draft)
    assert draft.status_code == 409 and draft.json()["code"] == "invoice_not_collectable"
    paid = finalize(customer.draft)
    assert paid.status == InvoiceStatus.PAID
    assert pay(customer.api, paid).json()["code"] == "invoice_not_collectable"

    other = payer(card=None)
    invoice = finalize(other.draft)
    invoicing.void_invoice(invoice, reason="issued in error")
    void = pay(other.api, invoice)
    assert void.status_code == 409 and void.json()["code"] == "invoice_not_collectable"


def test_another_tenants_invoice_is_404_and_other_roles_are_refused(invoiced, member_client):
    customer, invoice = invoiced(card=DECLINED)
    stranger, _ = member_client("admin")
    assert pay(stranger, invoice).status_code == 404
    for role in ("developer", "operator"):
        api, _ = member_client(role, tenant=customer.tenant)
        assert pay(api, invoice).status_code == 403
    assert Invoice.objects.get(pk=invoice.pk).payment_attempts == 1


def test_without_payments_configured_it_is_503(invoiced, settings):
    customer, invoice = invoiced(card=DECLINED)
    settings.STRIPE_API_KEY = ""
    response = pay(customer.api, invoice)
    assert response.status_code == 503
    assert response.json()["code"] == "payments_not_configured"
    assert Invoice.objects.get(pk=invoice.pk).payment_attempts == 1


@pytest.mark.django_db(transaction=True)
@needs_row_locks
def test_a_double_click_charges_once(invoiced, settings, broker_refuses):
    settings.BILLING_DUNNING_DAYS = []
    customer, invoice = invoiced(card=DECLINED)
    # Committed at once here: the new card's charge is lost (the broker down) instead.
    broker_refuses.invoice_ids = {invoice.pk}
    clients = [card_fixed(customer), signed_in(customer)]
    assert Invoice.objects.get(pk=invoice.pk).payment_attempts == 1

    answers = race(lambda api: pay(api, invoice), clients)

    assert sorted(a.status_code for a in answers) == [200, 409]
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID and invoice.payment_attempts == 2
    assert [i.metadata["attempt"] for i in intents_of(customer.tenant)] == ["1", "2"]


def test_a_charge_still_processing_is_202_and_a_second_payment_waits_for_it(invoiced, monkeypatch):
    from billing import payments

    customer, invoice = invoiced(card=DECLINED)

    def processing(tenant, amount, currency, *, idempotency_key, metadata):
        return payments.PaymentOutcome(payments.IntentState.PROCESSING, "pi_processing")

    monkeypatch.setattr(payments, "charge_attempt", processing)
    response = pay(customer.api, invoice)
    assert response.status_code == 202, response.content
    assert_documented(response, PAY)
    assert response.json()["status"] == InvoiceStatus.PAYMENT_FAILED
    assert response.json()["payment_attempts"] == 2
    again = pay(customer.api, invoice)
    assert again.status_code == 409 and again.json()["code"] == "payment_pending"
    assert Invoice.objects.get(pk=invoice.pk).payment_attempts == 2
