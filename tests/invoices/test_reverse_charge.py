"""A reverse-charge invoice prints the legal mention, charges no VAT, and declares
category AE with its exemption reason in the e-invoice."""

from dataclasses import replace

import pytest

from billing.documents import facturx_xml, render_html, render_pdf
from billing.documents.errors import InvalidInvoiceDocument
from tests.invoices.documents import BUYER, invoice
from tests.invoices.pdf_reading import NS, embedded_xml, pdf_text, summation

MENTION = (
    "Reverse charge: VAT to be accounted for by the customer "
    "(Article 196 of Council Directive 2006/112/EC)"
)


def test_the_page_and_the_pdf_print_the_legal_mention():
    doc = invoice(reverse_charge=True)
    assert MENTION in render_html(doc)
    text = " ".join(pdf_text(render_pdf(doc)).split())
    assert MENTION in text
    assert "VAT 0% (reverse charge) 0.00 EUR" in text
    assert "Total 60.28 EUR" in text


def test_an_invoice_with_vat_prints_no_mention():
    assert "Article 196" not in render_html(invoice())


def test_the_einvoice_declares_category_ae_with_its_exemption_reason():
    doc = invoice(reverse_charge=True)
    _, tree = embedded_xml(render_pdf(doc))
    header_tax = tree.xpath(
        "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax", namespaces=NS
    )[0]
    assert header_tax.findtext("ram:CategoryCode", namespaces=NS) == "AE"
    assert header_tax.findtext("ram:RateApplicablePercent", namespaces=NS) == "0.00"
    assert header_tax.findtext("ram:CalculatedAmount", namespaces=NS) == "0.00"
    assert header_tax.findtext("ram:ExemptionReasonCode", namespaces=NS) == "VATEX-EU-AE"
    assert header_tax.findtext("ram:ExemptionReason", namespaces=NS) == "Reverse charge"
    line_categories = tree.xpath(
        "//ram:SpecifiedLineTradeSettlement/ram:ApplicableTradeTax/ram:CategoryCode/text()",
        namespaces=NS,
    )
    assert line_categories == ["AE", "AE"]
    assert summation(tree, "TaxTotalAmount") == "0.00"
    assert summation(tree, "GrandTotalAmount") == "60.28"
    assert MENTION in tree.xpath(
        "//rsm:ExchangedDocument/ram:IncludedNote/ram:Content/text()", namespaces=NS
    )


def test_reverse_charge_without_the_buyers_vat_number_is_refused():
    with pytest.raises(InvalidInvoiceDocument, match="buyer's VAT number"):
        facturx_xml(invoice(reverse_charge=True, buyer=replace(BUYER, tax_id="")))


def test_reverse_charge_with_vat_charged_is_refused():
    doc = invoice(reverse_charge=True)
    with pytest.raises(InvalidInvoiceDocument, match="no VAT"):
        render_html(replace(doc, tax=1, total=doc.total + 1))
