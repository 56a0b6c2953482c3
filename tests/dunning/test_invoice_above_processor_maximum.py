"""An invoice whose amount due is above the largest card charge (Stripe refuses more than
eight digits of minor units as ``amount_too_large``, as localstripe does here) is not charged,
as one below the smallest is not: it stays open with ``amount_above_maximum``, the tenant is
told once to pay it by bank transfer, and nothing retries it or suspends the tenant for it.
Before, it was charged, refused, failed into the dunning and, at its end, made uncollectible,
the tenant's entitlements suspended, for an invoice no card could ever pay."""

import pytest

from billing import collection, invoicing, tasks
from billing.charge_minimums import MAXIMUM_CHARGE
from billing.errors import AmountAboveMaximum
from billing.models import Invoice, InvoiceStatus
from marketplace.models import Entitlement
from tests.dunning.conftest import GOOD, days, intents_of, save_card, signed_in
from tests.invoicing.conftest import JAN, Customer

pytestmark = pytest.mark.django_db

DEAR = {"scheme": "per_unit", "unit_amount": 50_000_000}  # EUR 500,000.00 an agent-hour
LARGE_TOTAL = 119_000_000  # 2 h, plus 19 % VAT: EUR 1,190,000.00


@pytest.fixture
def large_invoice(clock, member_client, vendor_tenant, stripe_on, finalize):
    """A tenant with a card whose January comes to EUR 1,190,000.00, finalized (its charge
    run as the worker runs it)."""
    api, membership = member_client("admin")
    customer = Customer(membership.tenant, vendor_tenant)
    customer.api, customer.user = api, membership.user
    customer.account()
    save_card(api, GOOD)
    customer.entitlement = customer.metered(terms=DEAR)
    customer.ran(customer.entitlement, JAN, 2)
    (pk,) = invoicing.close_billing_period(JAN).created
    return customer, finalize(Invoice.objects.get(pk=pk))


def test_an_invoice_above_the_largest_card_charge_is_not_charged_and_the_tenant_is_told_once(
    large_invoice, clock, notices
):
    customer, invoice = large_invoice
    assert invoice.amount_due == LARGE_TOTAL > MAXIMUM_CHARGE
    assert (invoice.status, invoice.payment_attempts) == (InvoiceStatus.OPEN, 0)
    assert invoice.payment_failure_code == "amount_above_maximum"
    assert "above the card processor's largest charge of 999999.99 EUR" in (
        invoice.payment_failure_detail
    )
    assert intents_of(customer.tenant) == []  # Stripe was never asked
    shown = signed_in(customer).get(f"/api/v1/invoices/{invoice.pk}").json()
    assert (shown["status"], shown["payment_failure_code"]) == ("open", "amount_above_maximum")
    (mail,) = notices
    assert mail.subject == f"Invoice {invoice.number}: too large to charge to a card"
    assert f"bank transfer quoting {invoice.number}" in mail.body

    assert tasks.collect_invoice_payment(invoice.pk) == "amount_above_maximum"
    clock.move_to(days(30))
    assert collection.retry_due_invoice_payments().attempted == {}
    with pytest.raises(AmountAboveMaximum) as refused:
        collection.retry_invoice_payment(invoice)
    assert (refused.value.status, refused.value.code) == (409, "amount_above_maximum")
    invoice.refresh_from_db()
    assert (invoice.status, invoice.payment_attempts) == (InvoiceStatus.OPEN, 0)
    assert intents_of(customer.tenant) == [] and len(notices) == 1
    assert Entitlement.objects.get(pk=customer.entitlement.pk).status == "active"
