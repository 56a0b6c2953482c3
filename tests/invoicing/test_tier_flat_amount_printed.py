"""A tier's ``flat_amount`` (graduated or volume) is charged on its slice and printed beside
it, so each slice a tenant reads (the PDF's tier row, the e-invoice's line note, the invoice
API's and the upcoming invoice's breakdown) can be recomputed by hand: "10 x 1.00 + 5.00 flat
= 15.00 EUR", never "10 x 1.00 = 15.00 EUR". A breakdown stored before slices recorded their
flat amount (an invoice issued already) has no ``flat_amount``: it is 0, and its document
reads as it did."""

from decimal import Decimal

import pytest
from django.utils import timezone

from billing import invoicing
from billing.models import Invoice, InvoiceLine
from billing.periods import month_start
from tests.invoices.pdf_reading import NS, embedded_xml, pdf_text
from tests.invoicing.conftest import JAN
from tests.invoicing.test_invoice_api import billing_member  # noqa: F401

pytestmark = pytest.mark.django_db

# 10 hours at 1.00 plus 5.00 flat for reaching the first band, then 0.50 an hour.
GRADUATED_FLAT = {
    "scheme": "graduated",
    "tiers": [
        {"up_to": 10, "unit_amount": 100, "flat_amount": 500},
        {"up_to": None, "unit_amount": 50, "flat_amount": 0},
    ],
}
# Every hour at the tier the month reaches, plus that tier's flat amount.
VOLUME_FLAT = {
    "scheme": "volume",
    "tiers": [
        {"up_to": 10, "unit_amount": 100, "flat_amount": 0},
        {"up_to": None, "unit_amount": 50, "flat_amount": 300},
    ],
}


def _finalized(customer, terms, hours):
    customer.ran(customer.metered(terms=terms), JAN, hours)
    (pk,) = invoicing.close_billing_period(JAN).created
    return invoicing.finalize_invoice(Invoice.objects.get(pk=pk))


def _note(pdf: bytes) -> str:
    _, xml = embedded_xml(pdf)
    return xml.findtext(
        ".//ram:IncludedSupplyChainTradeLineItem//ram:IncludedNote/ram:Content", namespaces=NS
    )


def test_a_graduated_tier_flat_amount_is_printed_on_its_slice(billing_member):  # noqa: F811
    client, customer = billing_member
    customer.account()
    invoice = _finalized(customer, GRADUATED_FLAT, 12)
    (usage,) = invoice.lines.filter(kind="usage")
    assert usage.amount == 1600  # 10 x 1.00 + 5.00 flat + 2 x 0.50

    pdf = client.get(f"/api/v1/invoices/{invoice.pk}/pdf").content
    assert _note(pdf) == (
        "agent-hours 0-10: 10 x 1.00 + 5.00 flat = 15.00 EUR; agent-hours 10-: 2 x 0.50 = 1.00 EUR"
    )
    rows = [line for line in pdf_text(pdf).splitlines() if line.startswith("tier ")]
    assert rows == [
        "tier agent-hours 0-10 10 1.00 + 5.00 flat 15.00",
        "tier agent-hours 10- 2 0.50 1.00",
    ]

    (line,) = [
        line
        for line in client.get(f"/api/v1/invoices/{invoice.pk}").json()["lines"]
        if line["kind"] == "usage"
    ]
    assert [
        (Decimal(s["quantity"]), Decimal(s["unit_amount"]), s["flat_amount"], s["amount"])
        for s in line["breakdown"]["lines"]
    ] == [(10, 100, 500, 1500), (2, 50, 0, 100)]


def test_a_volume_tier_flat_amount_is_printed_on_its_slice(billing_member):  # noqa: F811
    client, customer = billing_member
    customer.account()
    invoice = _finalized(customer, VOLUME_FLAT, 12)
    pdf = client.get(f"/api/v1/invoices/{invoice.pk}/pdf").content
    assert _note(pdf) == "agent-hours (volume tier): 12 x 0.50 + 3.00 flat = 9.00 EUR"


def test_the_upcoming_invoice_gives_each_slice_its_flat_amount(billing_member):  # noqa: F811
    client, customer = billing_member
    start = month_start(timezone.now())
    customer.ran(customer.metered(terms=GRADUATED_FLAT, since=start), start, 12)
    (eur,) = client.get("/api/v1/invoices/upcoming").json()["invoices"]
    (usage,) = [line for line in eur["lines"] if line["kind"] == "usage"]
    assert [s["flat_amount"] for s in usage["breakdown"]["lines"]] == [500, 0]


def test_an_invoice_issued_before_slices_had_a_flat_amount_reads_as_it_did(
    billing_member,  # noqa: F811
):
    client, customer = billing_member
    customer.account()
    customer.ran(customer.metered(), JAN, 12)  # GRADUATED: no flat amounts
    (pk,) = invoicing.close_billing_period(JAN).created
    (usage,) = InvoiceLine.objects.filter(invoice=pk, kind="usage")
    stored = {
        **usage.breakdown,
        "lines": [
            {k: v for k, v in s.items() if k != "flat_amount"} for s in usage.breakdown["lines"]
        ],
    }
    InvoiceLine.objects.filter(pk=usage.pk).update(breakdown=stored)  # as stored before
    invoice = invoicing.finalize_invoice(Invoice.objects.get(pk=pk))
    assert InvoiceLine.objects.get(pk=usage.pk).breakdown == stored
    pdf = client.get(f"/api/v1/invoices/{invoice.pk}/pdf").content
    assert _note(pdf) == (
        "agent-hours 0-10: 10 x 1.00 = 10.00 EUR; agent-hours 10-: 2 x 0.50 = 1.00 EUR"
    )
    rows = [line for line in pdf_text(pdf).splitlines() if line.startswith("tier ")]
    assert rows == ["tier agent-hours 0-10 10 1.00 10.00", "tier agent-hours 10- 2 0.50 1.00"]
