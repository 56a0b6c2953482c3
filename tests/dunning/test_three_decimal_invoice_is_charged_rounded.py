"""Stripe takes amounts in the three-decimal currencies (BHD, JOD, KWD, OMR, TND) only as a
multiple of 10 minor units, as localstripe does here. A KWD invoice keeps its lines, VAT and
total exact; its amount due is rounded down to what a card can be charged (``rounding_amount``,
printed as "Rounding" on its PDF), charged so by the collection task, and rounded again after
a credit note."""

from datetime import timedelta
from io import BytesIO

import pytest
from pypdf import PdfReader

from billing import invoicing
from billing.documents import facturx_xml
from billing.documents.errors import EInvoiceUnsupported
from billing.invoice_documents import invoice_document, invoice_pdf
from billing.models import Invoice, InvoiceStatus
from tests.dunning.conftest import (
    DECLINED,
    GOOD,
    credit_fee,
    days,
    intents_of,
    pay_with_new_card,
    save_card,
    signed_in,
    stripe_client,
)
from tests.invoices.pdf_reading import pdf_text, xmp, xmp_value
from tests.invoicing.conftest import FEB, JAN, MAR, Customer

pytestmark = pytest.mark.django_db

# 1 agent-hour at KWD 0.181, plus 19 % VAT (0.034): 0.215 KWD, which Stripe cannot charge.
ONE_HOUR = {"scheme": "per_unit", "unit_amount": 181}
# The same hour and a monthly fee of KWD 1.003: 1.184 plus 0.225 VAT, 1.409 KWD.
WITH_FEE = {
    "scheme": "graduated",
    "tiers": [{"up_to": None, "unit_amount": 181}],
    "flat_fee": 1003,
}


@pytest.fixture
def kwd_invoice(clock, member_client, vendor_tenant, stripe_on, finalize):
    """make(terms, card) -> (Customer, its January in KWD finalized, first charge made)."""

    def make(terms, card=GOOD):
        api, membership = member_client("admin")
        customer = Customer(membership.tenant, vendor_tenant)
        customer.api, customer.user = api, membership.user
        customer.account(currency="KWD")
        save_card(api, card)
        customer.entitlement = customer.metered(terms=terms, currency="KWD")
        customer.ran(customer.entitlement, JAN, 1)
        (pk,) = invoicing.close_billing_period(JAN).created
        return customer, finalize(Invoice.objects.get(pk=pk))

    return make


def test_stripe_refuses_a_dinar_amount_whose_last_digit_is_not_0(stripe_on):
    import stripe

    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client().v1.payment_intents.create(
            params={"amount": 215, "currency": "kwd", "confirm": False}
        )
    assert (refused.value.http_status, refused.value.param) == (400, "amount")
    taken = stripe_client().v1.payment_intents.create(
        params={"amount": 210, "currency": "kwd", "confirm": False}
    )
    assert (taken.amount, taken.currency) == (210, "kwd")


def test_a_dinar_invoice_is_charged_its_total_rounded_down_to_what_stripe_takes(kwd_invoice):
    customer, invoice = kwd_invoice(ONE_HOUR)
    assert (invoice.subtotal, invoice.tax, invoice.total) == (181, 34, 215)
    assert (invoice.rounding_amount, invoice.status) == (-5, InvoiceStatus.PAID)
    (charged,) = intents_of(customer.tenant)
    assert (charged.status, charged.amount, charged.currency) == ("succeeded", 210, "kwd")
    shown = signed_in(customer).get(f"/api/v1/invoices/{invoice.pk}").json()
    assert (shown["total"], shown["rounding_amount"], shown["amount_due"]) == (215, -5, 210)
    assert (shown["amount_paid"], shown["amount_remaining"]) == (210, 0)


def test_a_dinar_invoice_prints_its_rounding_and_stays_a_valid_document(kwd_invoice):
    _, invoice = kwd_invoice(ONE_HOUR)
    doc = invoice_document(invoice)
    assert (doc.total, doc.rounding, doc.amount_paid, doc.amount_due) == (215, -5, 210, 0)
    pdf = invoice_pdf(invoice)
    text = " ".join(pdf_text(pdf).split())
    assert "Total 0.215 KWD" in text and "VAT 19% 0.034 KWD" in text
    assert "Paid 0.210 KWD Rounding -0.005 KWD Amount due 0.000 KWD" in text
    meta = xmp(pdf)
    assert (xmp_value(meta, "pdfaid:part"), xmp_value(meta, "pdfaid:conformance")) == ("3", "B")
    assert PdfReader(BytesIO(pdf)).attachments == {}  # EN 16931 cannot state 3 decimals
    with pytest.raises(EInvoiceUnsupported):
        facturx_xml(doc)


def test_a_credit_note_rounds_the_rest_again_and_a_new_card_is_charged_it(
    kwd_invoice, admin_session, committed, clock
):
    customer, invoice = kwd_invoice(WITH_FEE, card=DECLINED)
    assert (invoice.total, invoice.rounding_amount, invoice.amount_due) == (1409, -9, 1400)
    assert invoice.status == InvoiceStatus.PAYMENT_FAILED
    assert invoice.payment_failure_code == "card_declined"  # Stripe took the amount
    (declined,) = intents_of(customer.tenant)
    assert declined.amount == 1400

    client, _ = admin_session("finance")
    credit_fee(client, invoice)
    shown = signed_in(customer).get(f"/api/v1/invoices/{invoice.pk}").json()
    # The fee and its VAT (1.003 + 0.191) come off: 0.215 left, 0.210 asked.
    assert (shown["credited_amount"], shown["rounding_amount"]) == (1194, -5)
    assert (shown["status"], shown["amount_due"]) == ("payment_failed", 210)
    invoice.refresh_from_db()
    # The invoice's document says what the API says: credited, rounded again, 0.210 due.
    doc = invoice_document(invoice)
    assert (doc.credited, doc.rounding, doc.amount_due) == (1194, -5, 210)
    text = " ".join(pdf_text(invoice_pdf(invoice)).split())
    assert "Credited by credit notes 1.194 KWD Rounding -0.005 KWD Amount due 0.210 KWD" in text

    clock.move_to(days(1))
    pay_with_new_card(customer, committed)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    charged = intents_of(customer.tenant)[-1]
    assert (charged.status, charged.amount) == ("succeeded", 210)


def test_the_upcoming_invoice_asks_what_the_close_will_ask(clock, member_client, vendor_tenant):
    api, membership = member_client("admin")
    customer = Customer(membership.tenant, vendor_tenant)
    customer.account(currency="KWD")
    customer.ran(customer.metered(terms=ONE_HOUR, currency="KWD"), FEB, 1)
    (upcoming,) = api.get("/api/v1/invoices/upcoming").json()["invoices"]
    shown = (upcoming["total"], upcoming["rounding_amount"], upcoming["amount_due"])
    assert shown == (215, -5, 210)

    clock.move_to(MAR + timedelta(hours=1))
    (pk,) = invoicing.close_billing_period(FEB).created
    closed = Invoice.objects.get(pk=pk)
    assert (closed.total, closed.rounding_amount, closed.amount_due) == shown
