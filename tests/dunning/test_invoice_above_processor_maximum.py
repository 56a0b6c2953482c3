"""An invoice whose amount due is above the largest card charge (Stripe refuses more than
eight digits of minor units as ``amount_too_large``, as localstripe does here) is not charged,
as one below the smallest is not: it stays open with ``amount_above_maximum``, the tenant is
told once to pay it by bank transfer, and nothing retries it or suspends the tenant for it.
Before, it was charged, refused, failed into the dunning and, at its end, made uncollectible,
the tenant's entitlements suspended, for an invoice no card could ever pay."""

import pytest

from billing import collection, tasks
from billing.charge_minimums import MAXIMUM_CHARGE
from billing.errors import AmountAboveMaximum
from billing.models import InvoiceStatus
from marketplace.models import Entitlement
from tests.dunning.conftest import days, intents_of
from tests.dunning.test_invoice_below_processor_minimum import (
    assert_left_open_and_told,
    two_hours_in_january,
)

pytestmark = pytest.mark.django_db

DEAR = {"scheme": "per_unit", "unit_amount": 50_000_000}  # EUR 500,000.00 an agent-hour
LARGE_TOTAL = 119_000_000  # 2 h, plus 19 % VAT: EUR 1,190,000.00


@pytest.fixture
def large_invoice(clock, member_client, vendor_tenant, stripe_on, finalize):
    """A tenant with a card whose January comes to EUR 1,190,000.00, finalized (its charge
    run as the worker runs it)."""
    customer, draft = two_hours_in_january(member_client, vendor_tenant, DEAR)
    return customer, finalize(draft)


def test_an_invoice_above_the_largest_card_charge_is_not_charged_and_the_tenant_is_told_once(
    large_invoice, clock, notices
):
    customer, invoice = large_invoice
    assert invoice.amount_due == LARGE_TOTAL > MAXIMUM_CHARGE
    assert_left_open_and_told(
        customer,
        invoice,
        notices,
        code="amount_above_maximum",
        why="above the card processor's largest charge of 999999.99 EUR",
        subject="too large to charge to a card",
    )

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
