"""A PaymentIntent whose metadata names an invoice pays it only when it is the tenant's: its
Stripe customer, the invoice's currency, at least what it asks. Any other (another
integration on the same Stripe account, a payment made in the dashboard) changes nothing and
is told to finance, once per intent."""

import pytest

from billing.models import InvoiceStatus, StripeCustomer, WebhookEvent
from edgeplug.audit.models import AuditEvent
from marketplace.models import Entitlement
from tests.commerce.conftest import event, payment_in_stripe, signed_webhook

pytestmark = pytest.mark.django_db


def deliver(api, committed, event_id, intent):
    payload = event(event_id, "payment_intent.succeeded", {"id": intent.id})
    response = committed(signed_webhook, api, payload)
    assert response.status_code == 200, response.content
    return WebhookEvent.objects.get(event_id=event_id).outcome


def not_ours(invoice):
    return list(AuditEvent.objects.filter(action="payment_not_ours", details__invoice=invoice.pk))


def test_another_customers_payment_naming_the_invoice_does_not_pay_it(
    uncollectible, committed, api
):
    customer, invoice = uncollectible  # 14.28 EUR owed, tenant suspended
    intent = payment_in_stripe({"invoice": str(invoice.pk)}, amount=50, currency="usd")

    outcome = deliver(api, committed, "evt_foreign", intent)
    deliver(api, committed, "evt_foreign_again", intent)

    invoice.refresh_from_db()
    assert (invoice.status, invoice.payment_intent_id) != (InvoiceStatus.PAID, intent.id)
    assert invoice.status == InvoiceStatus.UNCOLLECTIBLE
    assert Entitlement.objects.get(pk=customer.entitlement.pk).status == "suspended"
    assert outcome.startswith("payment_not_ours"), outcome
    [told] = not_ours(invoice)  # once, however many events
    assert told.details["payment_intent"] == intent.id
    assert told.details["customer"] == intent.customer
    assert (told.details["amount"], told.details["currency"]) == (50, "USD")


@pytest.mark.parametrize(("amount", "currency"), [(50, "eur"), (1428, "usd")])
def test_the_tenants_own_payment_of_another_sum_does_not_pay_the_invoice(
    uncollectible, committed, api, amount, currency
):
    customer, invoice = uncollectible
    own = StripeCustomer.objects.get(tenant=customer.tenant).customer_id
    intent = payment_in_stripe(
        {"invoice": str(invoice.pk)}, amount=amount, currency=currency, customer=own
    )

    outcome = deliver(api, committed, "evt_other_sum", intent)

    assert outcome.startswith("payment_not_ours"), outcome
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.UNCOLLECTIBLE
    assert Entitlement.objects.get(pk=customer.entitlement.pk).status == "suspended"
    assert len(not_ours(invoice)) == 1


def test_the_tenants_own_payment_of_the_invoice_made_in_stripe_pays_it(
    uncollectible, committed, api
):
    customer, invoice = uncollectible
    own = StripeCustomer.objects.get(tenant=customer.tenant).customer_id
    intent = payment_in_stripe(
        {"invoice": str(invoice.pk)}, amount=invoice.amount_due, currency="eur", customer=own
    )

    assert deliver(api, committed, "evt_own", intent) == f"invoice {invoice.pk} paid"
    assert Entitlement.objects.get(pk=customer.entitlement.pk).status == "active"
    assert not_ours(invoice) == []
