"""An invoice whose amount due is below the smallest card charge (Stripe refuses it as
``amount_too_small``, as localstripe does here) is not charged: it stays open with the code
``amount_below_minimum``, the tenant is told once to pay it by bank transfer, nothing retries
it or suspends the tenant for it, finance's retry is refused with that code, and a recorded
transfer pays it."""

import pytest

from billing import collection, invoicing, tasks
from billing.charge_minimums import minimum_charge
from billing.errors import AmountBelowMinimum
from billing.models import Invoice, InvoiceStatus
from edgeplug.audit.models import AuditEvent
from marketplace.models import Entitlement
from tests.dunning.conftest import GOOD, days, intents_of, save_card, signed_in, stripe_client
from tests.dunning.test_payment_admin import INVOICES, record_offline
from tests.invoicing.conftest import JAN, Customer

pytestmark = pytest.mark.django_db

PENNIES = {"scheme": "per_unit", "unit_amount": 5}  # EUR 0.05 an agent-hour, no fee
SMALL_TOTAL = 12  # 2 h x 0.05 = 0.10, plus 19 % VAT: 0.12 EUR


@pytest.fixture
def small_invoice(clock, member_client, vendor_tenant, stripe_on, finalize):
    """A tenant with a card whose January comes to EUR 0.12, finalized (its charge queued)."""
    api, membership = member_client("admin")
    customer = Customer(membership.tenant, vendor_tenant)
    customer.api, customer.user = api, membership.user
    customer.account()
    save_card(api, GOOD)
    customer.entitlement = customer.metered(terms=PENNIES)
    customer.ran(customer.entitlement, JAN, 2)
    (pk,) = invoicing.close_billing_period(JAN).created
    return customer, finalize(Invoice.objects.get(pk=pk))


def test_stripe_refuses_a_charge_below_its_minimum(small_invoice):
    """What collection must not ask for: localstripe answers as Stripe does, a refusal that
    spends the attempt's key (a retry of the same amount gets it again)."""
    import stripe

    _, invoice = small_invoice
    assert invoice.amount_due == SMALL_TOTAL < minimum_charge("EUR") == 50
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client().v1.payment_intents.create(
            params={"amount": SMALL_TOTAL, "currency": "eur", "confirm": False}
        )
    assert (refused.value.http_status, refused.value.code) == (400, "amount_too_small")


def test_an_invoice_below_the_card_minimum_stays_open_and_the_tenant_is_told_once(
    small_invoice, clock, notices
):
    customer, invoice = small_invoice
    assert invoice.status == InvoiceStatus.OPEN
    assert (invoice.payment_attempts, invoice.payment_intent_id) == (0, "")
    assert invoice.payment_failure_code == "amount_below_minimum"
    assert "0.12 EUR is below the card processor's minimum charge of 0.50 EUR" in (
        invoice.payment_failure_detail
    )
    assert intents_of(customer.tenant) == []  # Stripe was never asked
    shown = signed_in(customer).get(f"/api/v1/invoices/{invoice.pk}").json()
    assert (shown["status"], shown["payment_failure_code"]) == ("open", "amount_below_minimum")
    (mail,) = notices
    assert mail.subject == f"Invoice {invoice.number}: too small to charge to a card"
    assert "0.12 EUR" in mail.body and f"bank transfer quoting {invoice.number}" in mail.body
    not_attempted = AuditEvent.objects.get(action="invoice_payment_not_attempted")
    assert not_attempted.details["code"] == "amount_below_minimum"

    # Nothing charges it later: the task again, the first-charge net, the dunning, a new card.
    assert tasks.collect_invoice_payment(invoice.pk) == "amount_below_minimum"
    clock.move_to(days(30))
    assert collection.collect_missed_first_charges().attempted == {}
    assert collection.retry_due_invoice_payments().attempted == {}
    collection.collect_with_new_card(invoice.pk, attempts_seen=0)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.payment_attempts) == (InvoiceStatus.OPEN, 0)
    assert intents_of(customer.tenant) == [] and len(notices) == 1
    assert Entitlement.objects.get(pk=customer.entitlement.pk).status == "active"


def test_finance_retry_is_refused_with_the_code_and_a_transfer_pays_it(
    small_invoice, admin_session
):
    customer, invoice = small_invoice
    with pytest.raises(AmountBelowMinimum) as refused:
        collection.retry_invoice_payment(invoice)
    assert (refused.value.status, refused.value.code) == (409, "amount_below_minimum")

    client, _ = admin_session("finance")
    response = client.post(
        INVOICES, {"action": "retry_payment", "_selected_action": [invoice.pk]}, follow=True
    )
    assert "below the card processor&#x27;s minimum charge" in response.content.decode()
    assert intents_of(customer.tenant) == []
    done = record_offline(client, invoice)
    assert f"{invoice.number} recorded as paid." in done.content.decode()
    assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.PAID
