"""Finance retries a payment and records an offline payment with its reference in the
admin (a retry asks first, as it charges the card); each goes through its action and is
audited; other staff cannot. While a charge is still processing, neither (nor a void) is
accepted: its outcome may still take the money."""

import lxml.html
import pytest

from billing.models import Invoice, InvoiceStatus
from edgeplug.audit.models import AuditEvent
from marketplace.models import Entitlement
from marketplace.pricing import format_amount
from tests.dunning.conftest import DECLINED, GOOD, INVOICES, processing, save_card, signed_in

pytestmark = pytest.mark.django_db


def retry_confirmed(client, invoice):
    """Finance's *Retry payment now*, confirmed on the page that asks first (``post=yes``)."""
    form = {"action": "retry_payment", "_selected_action": [invoice.pk], "post": "yes"}
    return client.post(INVOICES, form, follow=True)


def record_offline(client, invoice, reference="SEPA E2E 2026-02-20 ACME"):
    """Finance's list action, with the transfer's reference, as the form posts it."""
    return client.post(
        INVOICES,
        {
            "action": "record_offline_payment",
            "_selected_action": [invoice.pk],
            "apply": "1",
            "reference": reference,
        },
        follow=True,
    )


def test_finance_retries_a_payment_on_the_new_card(uncollectible, admin_session):
    customer, invoice = uncollectible
    api = signed_in(customer)
    card = save_card(api, GOOD)
    api.post(f"/api/v1/billing/payment-methods/{card['id']}/default")
    client, user = admin_session("finance")
    listing = client.get(INVOICES)
    assert listing.status_code == 200 and invoice.number in listing.content.decode()
    # It asks first, saying what is charged (it charges the card for good); nothing yet.
    asked = client.post(INVOICES, {"action": "retry_payment", "_selected_action": [invoice.pk]})
    row = lxml.html.fromstring(asked.content).xpath('//tr[@class="retry-row"]')[0]
    assert row.xpath('string(td[@class="retry-outcome"])') == "yes"
    assert format_amount(invoice.amount_due, invoice.currency) in row.text_content()
    assert "Confirm: charge 1 invoice" in asked.content.decode()
    assert Invoice.objects.get(pk=invoice.pk).payment_attempts == 1
    response = retry_confirmed(client, invoice)
    assert f"{invoice.number}: paid" in response.content.decode()
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID and invoice.payment_attempts == 2
    assert Entitlement.objects.get(pk=customer.entitlement.pk).status == "active"
    requested = AuditEvent.objects.get(action="invoice_payment_retry_requested")
    assert requested.actor == user
    # Paid now: a second click is refused, nothing is charged.
    again = client.post(
        INVOICES, {"action": "retry_payment", "_selected_action": [invoice.pk]}, follow=True
    )
    assert "only finalized, unpaid invoices take a payment" in again.content.decode()
    assert Invoice.objects.get(pk=invoice.pk).payment_attempts == 2


def test_a_retry_that_fails_again_says_why(uncollectible, admin_session):
    _, invoice = uncollectible
    client, _ = admin_session("finance")
    response = retry_confirmed(client, invoice)
    assert f"{invoice.number}: uncollectible" in response.content.decode()
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.UNCOLLECTIBLE and invoice.payment_attempts == 2


def test_finance_records_an_offline_payment_with_its_reference(uncollectible, admin_session):
    customer, invoice = uncollectible
    client, user = admin_session("finance")
    ask = client.post(
        INVOICES, {"action": "record_offline_payment", "_selected_action": [invoice.pk]}
    )
    assert ask.status_code == 200 and 'name="reference"' in ask.content.decode()
    blank = client.post(
        INVOICES,
        {"action": "record_offline_payment", "_selected_action": [invoice.pk], "apply": "1"},
    )
    assert blank.status_code == 200 and "This field is required" in blank.content.decode()
    assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.UNCOLLECTIBLE
    done = record_offline(client, invoice)
    assert f"{invoice.number} recorded as paid." in done.content.decode()
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert invoice.payment_reference == "SEPA E2E 2026-02-20 ACME"
    paid = AuditEvent.objects.get(action="invoice_paid")
    assert (paid.actor, paid.details["source"]) == (user, "offline")
    assert Entitlement.objects.get(pk=customer.entitlement.pk).status == "active"


@pytest.mark.parametrize(
    ("reference", "said"),
    [
        ("\u200b", "Give the payment&#x27;s reference"),
        ("\u2060\u200b", "Give the payment&#x27;s reference"),
        ("SEPA\u200b42", "holds the invisible character U+200B"),
        ("SEPA \u202e24", "holds the bidirectional control U+202E"),
    ],
)
def test_a_reference_that_reads_as_another_or_as_nothing_is_refused_at_its_field(
    uncollectible, admin_session, reference, said
):
    """A zero-width space alone was taken, the invoice marked paid with a blank reference."""
    _, invoice = uncollectible
    client, _ = admin_session("finance")
    page = record_offline(client, invoice, reference)
    assert page.status_code == 200 and said in page.content.decode()
    assert page.context["form"].errors["reference"]
    invoice.refresh_from_db()
    assert (invoice.status, invoice.payment_reference) == (InvoiceStatus.UNCOLLECTIBLE, "")
    assert not AuditEvent.objects.filter(action="invoice_paid").exists()


def test_reviewers_cannot_collect(uncollectible, admin_session):
    _, invoice = uncollectible
    client, _ = admin_session("reviewers")
    for action in ("retry_payment", "record_offline_payment"):
        client.post(
            INVOICES,
            {"action": action, "_selected_action": [invoice.pk], "apply": "1", "reference": "x"},
        )
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.UNCOLLECTIBLE and invoice.payment_attempts == 1
    assert not AuditEvent.objects.filter(action="invoice_payment_retry_requested").exists()


def test_finance_cannot_retry_while_a_charge_is_still_processing(invoiced, admin_session):
    """Stripe answered ``processing`` to the last attempt (a bank debit, say): its outcome
    comes by webhook. The dunning and a new card wait for it; so does finance's retry, which
    would otherwise charge a second time."""
    _, invoice = invoiced(card=DECLINED)
    processing(invoice)
    client, _ = admin_session("finance")
    response = client.post(
        INVOICES, {"action": "retry_payment", "_selected_action": [invoice.pk]}, follow=True
    )
    assert "attempt 1 is still processing" in response.content.decode()
    assert Invoice.objects.get(pk=invoice.pk).payment_attempts == 1
    assert not AuditEvent.objects.filter(action="invoice_payment_retry_requested").exists()


def test_finance_cannot_record_an_offline_payment_while_a_charge_is_still_processing(
    invoiced, admin_session
):
    """Recorded paid now, the invoice would swallow the charge's success when it comes: the
    customer would have paid twice and nobody would see it."""
    _, invoice = invoiced(card=DECLINED)
    before = processing(invoice)
    client, _ = admin_session("finance")
    page = record_offline(client, invoice).content.decode()
    assert "attempt 1 is still processing" in page
    assert "Record the transfer once the charge has failed" in page
    assert f"{invoice.number} recorded as paid." not in page
    invoice.refresh_from_db()
    assert (invoice.status, invoice.paid_at, invoice.payment_reference) == (
        before.status,
        None,
        "",
    )
    assert not AuditEvent.objects.filter(action="invoice_paid").exists()


def test_finance_cannot_void_an_invoice_while_its_charge_is_still_processing(
    invoiced, admin_session
):
    """Voided now, the charge's success would land on a void invoice: money taken for an
    invoice nobody owes."""
    _, invoice = invoiced(card=DECLINED)
    before = processing(invoice)
    client, _ = admin_session("finance")
    response = client.post(
        f"{INVOICES}{invoice.pk}/void/", {"reason": "Billed the wrong entity"}, follow=True
    )
    page = response.content.decode()
    assert "attempt 1 is still processing" in page
    assert "Void it once the charge has failed" in page
    assert f"{invoice.number} voided." not in page
    invoice.refresh_from_db()
    assert (invoice.status, invoice.voided_at, invoice.void_reason) == (before.status, None, "")
    assert not AuditEvent.objects.filter(action="invoice_voided").exists()
