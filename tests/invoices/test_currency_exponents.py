"""Amounts follow ISO 4217 exponents everywhere: JPY has no decimals, KWD has three. EN 16931
cannot state three decimals, so a KWD invoice is a PDF/A-3 without the XML, and says so."""

from io import BytesIO

import pytest
from facturx import get_xml_from_pdf
from pypdf import PdfReader

from billing.documents import facturx_xml, render_html, render_pdf
from billing.documents.errors import EInvoiceUnsupported
from tests.invoices.documents import invoice
from tests.invoices.pdf_reading import embedded_xml, pdf_text, summation, xmp, xmp_value


def test_yen_amounts_have_no_decimals_on_the_page_the_pdf_and_the_xml():
    doc = invoice(currency="JPY")
    assert (doc.subtotal, doc.tax, doc.total) == (8704, 1741, 10445)
    html = render_html(doc)
    assert "8704 JPY" in html and "1741 JPY" in html and "10445 JPY" in html
    assert "8704.00" not in html and "87.04" not in html
    assert '<td class="num">15</td>' in html  # the first tier's price per hour, in yen
    pdf = render_pdf(doc)
    text = pdf_text(pdf)
    assert "Total 10445 JPY" in text and "Subtotal 8704 JPY" in text
    _, tree = embedded_xml(pdf)
    assert summation(tree, "GrandTotalAmount") == "10445"
    assert summation(tree, "TaxTotalAmount") == "1741"


def test_dinar_amounts_have_three_decimals_on_the_page_and_the_pdf():
    doc = invoice(currency="KWD")
    assert (doc.subtotal, doc.tax, doc.total) == (18383, 3677, 22060)
    html = render_html(doc)
    assert "18.383 KWD" in html and "3.677 KWD" in html and "22.060 KWD" in html
    text = " ".join(pdf_text(render_pdf(doc)).split())
    assert "Total 22.060 KWD" in text and "tier 100- 25.5 0.015 0.383" in text
    assert "No EN 16931 e-invoice is attached: EN 16931 amounts have at most 2 decimals" in text


def test_a_dinar_pdf_is_still_pdfa_3b_but_carries_no_xml():
    pdf = render_pdf(invoice(currency="KWD"))
    meta = xmp(pdf)
    assert xmp_value(meta, "pdfaid:part") == "3"
    assert xmp_value(meta, "pdfaid:conformance") == "B"
    assert get_xml_from_pdf(pdf, check_xsd=False) == (False, False)
    assert PdfReader(BytesIO(pdf)).attachments == {}


def test_a_dinar_einvoice_is_refused_rather_than_rounded():
    with pytest.raises(EInvoiceUnsupported, match="KWD has 3"):
        facturx_xml(invoice(currency="KWD"))
