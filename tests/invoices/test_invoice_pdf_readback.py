"""An invoice PDF, read back: its text shows the number, totals and VAT; its embedded
factur-x.xml is the same invoice; it declares PDF/A-3b and embeds its fonts; it is the same
file at every download."""

import unicodedata
from dataclasses import replace
from datetime import UTC, datetime
from io import BytesIO

import pytest
import time_machine
from pypdf import PdfReader

from billing.documents import render_pdf
from tests.invoices.documents import BUYER, invoice
from tests.invoices.pdf_reading import (
    NS,
    embedded_xml,
    pdf_text,
    summation,
    xml_text,
    xmp,
    xmp_value,
)


@pytest.fixture(scope="module")
def eur_invoice():
    doc = invoice()
    return doc, render_pdf(doc)


def test_the_pdf_text_shows_number_lines_totals_and_vat(eur_invoice):
    doc, pdf = eur_invoice
    text = pdf_text(pdf)
    assert doc.number == "EP-2026-000042"
    assert "EP-2026-000042" in text
    assert "Acme Robotics GmbH" in text and "EdgePlug SAS" in text
    assert "Agent-hours, vibration-anomaly 1.4 (graduated)" in text
    assert "tier 0-100" in text and "tier 100-" in text  # the breakdown is printed
    assert "Subtotal 60.28 EUR" in text
    assert "VAT 20% 12.06 EUR" in text
    assert "Total 72.34 EUR" in text
    assert "Amount due 72.34 EUR" in text
    assert "VAT FR40123456824" in text and "VAT DE123456789" in text


def test_the_embedded_xml_is_the_same_invoice(eur_invoice):
    doc, pdf = eur_invoice
    filename, tree = embedded_xml(pdf)
    assert filename == "factur-x.xml"
    assert xml_text(tree, "//rsm:ExchangedDocument/ram:ID") == "EP-2026-000042"
    assert xml_text(tree, "//rsm:ExchangedDocument/ram:TypeCode") == "380"
    assert xml_text(tree, "//ram:IssueDateTime/udt:DateTimeString") == "20260804"
    assert xml_text(tree, "//ram:InvoiceCurrencyCode") == "EUR"
    assert summation(tree, "LineTotalAmount") == "60.28"
    assert summation(tree, "TaxBasisTotalAmount") == "60.28"
    assert summation(tree, "TaxTotalAmount") == "12.06"
    assert summation(tree, "GrandTotalAmount") == "72.34"
    assert summation(tree, "DuePayableAmount") == "72.34"
    vat = tree.xpath("//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax", namespaces=NS)
    assert len(vat) == 1
    assert [child.text for child in vat[0]] == ["12.06", "VAT", "60.28", "S", "20.00"]
    lines = tree.xpath("//ram:IncludedSupplyChainTradeLineItem", namespaces=NS)
    assert len(lines) == len(doc.lines) == 2
    quantity = tree.xpath("//ram:BilledQuantity", namespaces=NS)[0]
    assert (quantity.text, quantity.get("unitCode")) == ("125.5", "HUR")
    assert "0-100: 100 x 0.10 = 10.00 EUR" in xml_text(tree, "//ram:IncludedNote/ram:Content")


def test_the_pdf_declares_pdfa_3b_and_factur_x_en16931(eur_invoice):
    _, pdf = eur_invoice
    meta = xmp(pdf)
    assert xmp_value(meta, "pdfaid:part") == "3"
    assert xmp_value(meta, "pdfaid:conformance") == "B"
    assert xmp_value(meta, "fx:ConformanceLevel") == "EN 16931"
    assert xmp_value(meta, "fx:DocumentFileName") == "factur-x.xml"
    assert xmp_value(meta, "fx:DocumentType") == "INVOICE"
    root = PdfReader(BytesIO(pdf)).trailer["/Root"]
    intents = root["/OutputIntents"]
    assert intents[0].get_object()["/S"] == "/GTS_PDFA1"
    assert "/DestOutputProfile" in intents[0].get_object()  # the ICC profile is embedded
    attached = root["/AF"][0].get_object()
    assert attached["/F"] == "factur-x.xml"
    assert attached["/AFRelationship"] == "/Data"


def embedded_fonts(pdf: bytes) -> list[str]:
    """The base name of every font the PDF's pages use, each checked embedded."""
    fonts = []
    for page in PdfReader(BytesIO(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendant = (
                font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            )
            descriptor = descendant["/FontDescriptor"].get_object()
            fonts.append(str(font["/BaseFont"]))
            assert {"/FontFile", "/FontFile2", "/FontFile3"} & set(descriptor), font["/BaseFont"]
    return fonts


def test_every_font_is_the_shipped_font_embedded(eur_invoice):
    _, pdf = eur_invoice
    fonts = embedded_fonts(pdf)
    # static/billing/invoice.css names the shipped DejaVu Sans files "EdgePlug Invoice".
    assert fonts and all("+EdgePlug-Invoice" in name for name in fonts), fonts


@pytest.mark.parametrize(
    ("name", "font"),
    [
        ("東京ロボティクス株式会社", "WenQuanYi"),
        ("深圳智能制造有限公司", "WenQuanYi"),
        ("한국로봇 주식회사", "WenQuanYi"),
        ("ไทยโรโบติกส์ จำกัด", "Loma"),
        ("भारत रोबोटिक्स लिमिटेड", "Lohit-Devanagari"),
        ("বাংলা রোবোটিক্স লিমিটেড", "Lohit-Bengali"),
        ("தமிழ் ரோபோட்டிக்ஸ் நிறுவனம்", "Lohit-Tamil"),
        ("తెలుగు రోబోటిక్స్", "Lohit-Telugu"),
        ("ಕರ್ನಾಟಕ ಯಂತ್ರ ಸಂಸ್ಥೆ", "Lohit-Kannada"),
        ("മലയാളം റോബോട്ടിക്സ്", "Lohit-Malayalam"),
        ("ગુજરાત રોબોટિક્સ", "Lohit-Gujarati"),
        ("ਪੰਜਾਬ ਰੋਬੋਟਿਕਸ", "Lohit-Gurmukhi"),
        ("ଓଡ଼ିଆ ରୋବୋଟିକ୍ସ", "Lohit-Odia"),
        ("မြန်မာ ရိုဘော့", "Padauk"),
        ("ኢትዮጵያ ሮቦቲክስ", "Abyssinica"),
        ("Robo 🤖 Werke", "Noto-Color-Emoji"),
    ],
)
def test_a_buyer_named_in_a_script_dejavu_lacks_is_printed(name, font, caplog):
    """DejaVu has no Chinese, Japanese, Korean, Thai, Indic, Myanmar, Ethiopic or emoji
    glyphs: such a name printed as empty boxes. The set-up installs a Debian font for each
    (scripts/bootstrap.sh), which Pango takes for the glyphs DejaVu lacks; each is embedded as
    the others are. Its letters are compared, not its vowel signs nor their order: the PDF's
    text layer gives a Bengali or Devanagari vowel sign back where it is drawn, or not at all
    when the shaper joined it to its letter."""
    pdf = render_pdf(invoice(buyer=replace(BUYER, legal_name=name)))

    text = pdf_text(pdf)
    assert letters(name) <= letters(text)
    assert symbols(name) <= symbols(text)
    assert not [r for r in caplog.records if ".notdef" in r.getMessage()]
    assert any(font in embedded for embedded in embedded_fonts(pdf))


def symbols(text: str) -> set[str]:
    """The pictographs of ``text`` (Unicode "other symbol": emoji)."""
    return {c for c in text if unicodedata.category(c) == "So"}


def letters(text: str) -> set[str]:
    """The letters of ``text`` (Unicode "other letter" and cased letters), marks left out."""
    return {c for c in unicodedata.normalize("NFC", text) if unicodedata.category(c)[0] == "L"}


def test_a_credit_note_says_so_and_names_the_invoice_it_credits():
    doc = invoice(kind="credit_note", number="EP-CN-2026-000003", credit_of="EP-2026-000042")
    pdf = render_pdf(doc)
    text = pdf_text(pdf)
    assert "Credit note" in text and "EP-CN-2026-000003" in text
    assert "Credits invoice EP-2026-000042" in text
    _, tree = embedded_xml(pdf)
    assert xml_text(tree, "//rsm:ExchangedDocument/ram:TypeCode") == "381"
    assert xml_text(tree, "//ram:InvoiceReferencedDocument/ram:IssuerAssignedID") == (
        "EP-2026-000042"
    )
    assert summation(tree, "GrandTotalAmount") == "72.34"


def test_a_paid_invoice_shows_nothing_due():
    pdf = render_pdf(invoice(paid=True))
    assert "Amount due 0.00 EUR" in pdf_text(pdf)
    _, tree = embedded_xml(pdf)
    assert summation(tree, "TotalPrepaidAmount") == "72.34"
    assert summation(tree, "DuePayableAmount") == "0.00"


@pytest.mark.parametrize(
    "doc",
    [
        invoice(),
        invoice(kind="credit_note", number="EP-2026-000043", credit_of="EP-2026-000042"),
        invoice(currency="KWD"),  # a PDF/A-3 without its XML (three decimals)
    ],
    ids=["invoice", "credit_note", "without_xml"],
)
def test_an_issued_document_is_the_same_file_at_every_download(doc):
    """The emailed PDF, the finance ZIP's and one downloaded months later are one file: its
    creation and modification dates are the document's issue date, not the rendering's."""
    with time_machine.travel(datetime(2026, 8, 4, 1, 0, tzinfo=UTC), tick=False):
        emailed = render_pdf(doc)
    with time_machine.travel(datetime(2027, 6, 30, 12, 0, tzinfo=UTC), tick=False):
        downloaded_later = render_pdf(doc)
    meta = xmp(emailed)
    issued = "2026-08-04T00:00:00+00:00"
    assert (xmp_value(meta, "xmp:CreateDate"), xmp_value(meta, "xmp:ModifyDate")) == (issued,) * 2
    info = PdfReader(BytesIO(emailed)).metadata
    assert info["/CreationDate"] == info["/ModDate"]
    assert info["/CreationDate"].startswith("D:20260804000000+00'00")  # WeasyPrint: no last '
    assert emailed == downloaded_later
