"""An invoice for people: HTML from ``templates/billing/invoice.html``, and the same HTML
made into a PDF/A-3b by WeasyPrint with the Factur-X XML embedded.

The PDF is rendered with no network at all: the only URLs WeasyPrint may open are files under
the repository's ``static/`` (the stylesheet and the shipped DejaVu fonts).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, time
from io import BytesIO
from pathlib import Path
from urllib.parse import unquote, urlsplit

import facturx
from django.conf import settings
from django.template.loader import render_to_string
from pypdf import PdfWriter
from pypdf.generic import NameObject, TextStringObject
from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

from billing.documents.cii import (
    EINVOICE_MAX_EXPONENT,
    LEVEL,
    REVERSE_CHARGE_MENTION,
    einvoice_supported,
    facturx_xml,
)
from billing.documents.document import (
    BreakdownRow,
    InvoiceDocument,
    breakdown_rows,
    check_document,
    exponent,
    unit_price,
)
from marketplace.pricing import format_amount, plain_number

logger = logging.getLogger(__name__)

TEMPLATE = "billing/invoice.html"
TITLES = {"invoice": "Invoice", "credit_note": "Credit note"}


@dataclass(frozen=True)
class _LineRow:
    description: str
    quantity: str
    unit: str
    unit_price: str
    amount: str
    breakdown: list[BreakdownRow]


def render_html(doc: InvoiceDocument, *, asset_base: str | None = None) -> str:
    """The invoice page; ``asset_base`` is where ``billing/invoice.css`` and the fonts are
    found (the static URL for a browser, a ``file:`` URL for the PDF)."""
    check_document(doc)
    cur = doc.currency
    context = {
        "doc": doc,
        "title": TITLES[doc.kind],
        "asset_base": settings.STATIC_URL if asset_base is None else asset_base,
        "lines": [
            _LineRow(
                description=line.description,
                quantity=plain_number(line.quantity),
                unit=line.unit,
                unit_price=f"{unit_price(line.unit_amount, cur)} {cur}",
                amount=format_amount(line.amount, cur),
                breakdown=breakdown_rows(line.breakdown, cur),
            )
            for line in doc.lines
        ],
        "vat_label": _vat_label(doc),
        "subtotal": format_amount(doc.subtotal, cur),
        "tax": format_amount(doc.tax, cur),
        "total": format_amount(doc.total, cur),
        "settlement": settlement_rows(doc),
        "amount_due": format_amount(doc.amount_due, cur),
        "settled": settled_mention(doc),
        "credit": credit_mention(doc),
        "reverse_charge_mention": REVERSE_CHARGE_MENTION,
        "einvoice": einvoice_mention(doc),
    }
    return render_to_string(TEMPLATE, context)


def settlement_rows(doc: InvoiceDocument) -> list[tuple[str, str]]:
    """What stands between the total and the amount due, as (label, amount): the PDF's rows
    and the email's lines."""
    cur = doc.currency
    rows = []
    if doc.prepaid and not _paid_by_the_buyer(doc):
        rows.append((doc.prepaid_label, abs(doc.prepaid)))
    if doc.credited:
        rows.append(("Credited by credit notes", doc.credited))
    if _paid_by_the_buyer(doc) and not doc.is_credit_note:
        rows.append(("Paid", doc.amount_paid))
    if doc.rounding:
        rows.append(("Rounding", doc.rounding))
    return [(label, format_amount(amount, cur)) for label, amount in rows]


def settled_mention(doc: InvoiceDocument) -> str:
    """How a settled invoice says so ("" while something is due, and on a credit note, which
    nobody pays: ``credit_mention`` says what becomes of it)."""
    if not doc.paid or doc.is_credit_note:
        return ""
    settled_by = "Paid" if _paid_by_the_buyer(doc) else "Credited in full"
    return f"{settled_by} \N{EN DASH} nothing is due."


def credit_mention(doc: InvoiceDocument) -> str:
    """What becomes of a credit note's credit: the money a note of a paid invoice gives back
    and how, or what a note of an unpaid one took off what that invoice asks (``taken_off``,
    not its total) ("" on an invoice, and on a note whose lines' orders were refunded
    already: nothing is left)."""
    if not doc.is_credit_note:
        return ""
    if not doc.money_back:
        if doc.taken_off <= 0:
            return ""
        amount = format_amount(doc.taken_off, doc.currency)
        return f"{amount} is taken off what invoice {doc.credit_of} asks."
    amount = format_amount(doc.money_back, doc.currency)
    if doc.money_back_to_card:
        return f"{amount} is refunded to the card that paid invoice {doc.credit_of}."
    return f"{amount} is paid back to you by bank transfer."


def einvoice_mention(doc: InvoiceDocument) -> str:
    """What the PDF carries for accounting software, as its footer and the email say it:
    the EN 16931 XML, or why there is none (a three-decimal currency, which ``render_pdf``
    attaches no XML to)."""
    title = TITLES[doc.kind].lower()
    if einvoice_supported(doc.currency):
        return (
            f"The PDF of this {title} carries its EN 16931 e-invoice (Factur-X, profile "
            "EN 16931) as the attachment factur-x.xml."
        )
    return (
        f"No EN 16931 e-invoice is attached: EN 16931 amounts have at most "
        f"{EINVOICE_MAX_EXPONENT} decimals and {doc.currency} has {exponent(doc.currency)}."
    )


def _paid_by_the_buyer(doc: InvoiceDocument) -> bool:
    """Paid, and by the buyer: an invoice credit notes settled in full was paid nothing (or,
    holding a refund already paid back, less than nothing)."""
    return doc.paid and (doc.amount_paid > 0 or not doc.credited)


def _vat_label(doc: InvoiceDocument) -> str:
    if doc.reverse_charge:
        return "VAT 0% (reverse charge)"
    return f"VAT {plain_number(doc.tax_rate)}%"


class LocalAssetsOnly(URLFetcher):
    """WeasyPrint may read files under ``static/`` and nothing else: no http(s), no other
    file, so rendering never waits on a network nor leaks a path."""

    def __init__(self, root: Path):
        super().__init__(allowed_protocols={"file"})
        self.root = root.resolve()

    def fetch(self, url, headers=None):
        if not url.startswith("file:"):
            raise ValueError(f"Invoice rendering fetches no URL: {url}")
        path = Path(unquote(urlsplit(url).path)).resolve()
        if not path.is_relative_to(self.root):
            raise ValueError(f"Invoice rendering reads only files under {self.root}: {url}")
        return super().fetch(url, headers)


def static_root() -> Path:
    return Path(settings.BASE_DIR) / "static"


def issued_at(doc: InvoiceDocument) -> datetime:
    """When the PDF of a document says it was made and last changed: its issue date (00:00
    UTC), whenever it is rendered, so that every rendering of it is the same file."""
    return datetime.combine(doc.issue_date, time(), tzinfo=UTC)


def render_pdf(doc: InvoiceDocument) -> bytes:
    """The invoice as PDF/A-3b; with its Factur-X XML (``factur-x.xml``, relationship
    ``Data``) embedded when the currency allows EN 16931 (see ``einvoice_supported``).

    The same document gives the same bytes at every rendering (the emailed PDF, the download,
    finance's ZIP): its dates are the document's (``issued_at``), not the clock's."""
    root = static_root()
    html = render_html(doc, asset_base=root.as_uri() + "/")
    fetcher = LocalAssetsOnly(root)
    options = {"pdf_variant": "pdf/a-3b", "uncompressed_pdf": False}
    document = HTML(string=html, base_url=root.as_uri() + "/", url_fetcher=fetcher).render(
        font_config=FontConfiguration(), **options
    )
    document.metadata.created = document.metadata.modified = issued_at(doc).isoformat()
    pdf = document.write_pdf(**options)
    if not einvoice_supported(doc.currency):
        logger.warning(
            "Invoice %s in %s: PDF/A-3 without its EN 16931 XML (amounts with %s decimals)",
            doc.number,
            doc.currency,
            exponent(doc.currency),
        )
        return pdf
    with_xml = facturx.generate_from_binary(
        pdf,
        facturx_xml(doc),
        flavor="factur-x",
        level=LEVEL,
        check_xsd=False,  # facturx_xml checked the XSD and the business rules already
        pdf_metadata={
            "author": doc.seller.legal_name,
            "keywords": "Factur-X, EN 16931, Invoice",
            "title": f"{doc.seller.legal_name}: {TITLES[doc.kind]} {doc.number}",
            "subject": f"{TITLES[doc.kind]} {doc.number} dated {doc.issue_date.isoformat()} "
            f"issued by {doc.seller.legal_name}",
        },
        lang="en-GB",
    )
    return _dated(with_xml, issued_at(doc))


_XMP_DATES = re.compile(rb"(<xmp:(?:CreateDate|ModifyDate)>)[^<]*(</xmp:)")


def _dated(pdf: bytes, at: datetime) -> bytes:
    """The PDF with the dates factur-x wrote from the clock (it takes none) set to ``at``:
    the document information's, the XMP packet's and the embedded XML's modification date."""
    writer = PdfWriter(clone_from=BytesIO(pdf), keep_initial_header=True)
    pdf_date = TextStringObject(at.strftime("D:%Y%m%d%H%M%S+00'00'"))
    writer.add_metadata({"/CreationDate": pdf_date, "/ModDate": pdf_date})
    xmp = writer.root_object["/Metadata"].get_object()
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S+00:00").encode()
    packet, found = _XMP_DATES.subn(rb"\g<1>" + stamp + rb"\g<2>", xmp.get_data())
    if found != 2:
        raise ValueError(f"factur-x wrote {found} XMP dates, not CreateDate and ModifyDate")
    xmp.set_data(packet)
    for spec in writer.root_object["/AF"].get_object():
        params = spec.get_object()["/EF"]["/F"].get_object()["/Params"]
        params[NameObject("/ModDate")] = pdf_date
    out = BytesIO()
    writer.write(out)
    return out.getvalue()
