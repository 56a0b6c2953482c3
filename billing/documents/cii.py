"""The EN 16931 e-invoice of a document: Factur-X CII XML (profile EN 16931, "Comfort").

The XML is built by the ``factur-x`` library from a dictionary keyed by the EN 16931 business
terms (BT-1 number, BT-112 total ...), checked against the Factur-X XSD by that library and
against the EN 16931 business rules by ``validation.check_facturx_xml``. An XML that fails
either is never returned.
"""

from __future__ import annotations

from typing import Any

from facturx import generate_cii_xml

from billing.documents.document import (
    UNIT_CODES,
    InvoiceDocument,
    breakdown_note,
    check_document,
    exponent,
    major,
    unit_price,
)
from billing.documents.errors import EInvoiceUnsupported
from billing.documents.validation import check_facturx_xml
from marketplace.pricing import plain_number

LEVEL = "en16931"
TYPE_CODES = {"invoice": "380", "credit_note": "381"}  # UNTDID 1001
REVERSE_CHARGE_MENTION = (
    "Reverse charge: VAT to be accounted for by the customer "
    "(Article 196 of Council Directive 2006/112/EC)"
)
REVERSE_CHARGE_EXEMPTION_CODE = "VATEX-EU-AE"  # CEF VATEX code list
# EN 16931 amounts have at most two decimals (BR-DEC-*): KWD, BHD... cannot be stated exactly.
EINVOICE_MAX_EXPONENT = 2


def einvoice_supported(currency: str) -> bool:
    """Whether an EN 16931 XML can state this currency's amounts exactly (KWD cannot)."""
    return exponent(currency) <= EINVOICE_MAX_EXPONENT


def facturx_xml(doc: InvoiceDocument) -> bytes:
    """The Factur-X (EN 16931) XML of ``doc``, UTF-8, validated (XSD and business rules)."""
    check_document(doc)
    if not einvoice_supported(doc.currency):
        raise EInvoiceUnsupported(
            f"EN 16931 amounts have at most {EINVOICE_MAX_EXPONENT} decimals; "
            f"{doc.currency} has {exponent(doc.currency)}, so no e-invoice can state them."
        )
    # check_facturx_xml runs the XSD through the same library, then the business rules.
    xml = generate_cii_xml(
        _business_terms(doc), level=LEVEL, check_xsd=False, check_schematron=False
    )
    check_facturx_xml(xml)
    return xml


def _business_terms(doc: InvoiceDocument) -> dict[str, Any]:
    cur = doc.currency
    terms: dict[str, Any] = {
        "BT-1": doc.number,
        "BT-2": doc.issue_date,
        "BT-3": TYPE_CODES[doc.kind],
        "BT-5": cur,
        "BT-9": doc.due_date,
        "BT-20": f"Due {doc.due_date.isoformat()}" if doc.amount_due else "Paid",
        # Services are supplied through the period: the supply completes on its last day.
        "BT-72": doc.period_end,
        "BT-73": doc.period_start,
        "BT-74": doc.period_end,
        "BG-4": _party(doc.seller),
        "BG-7": _party(doc.buyer),
        "BG-23": [_vat_breakdown(doc)],
        "BG-25": [_line(doc, index, line) for index, line in enumerate(doc.lines, start=1)],
        "BT-106": major(doc.subtotal, cur),
        "BT-109": major(doc.subtotal, cur),
        "BT-110": major(doc.tax, cur),
        "BT-112": major(doc.total, cur),
        "BT-113": major(doc.amount_settled, cur),
        "BT-115": major(doc.amount_due, cur),
    }
    if doc.reverse_charge:
        terms["BG-1"] = [{"BT-22": REVERSE_CHARGE_MENTION}]
    if doc.credit_of:
        terms["BG-3"] = [{"BT-25": doc.credit_of}]
    return terms


def _party(party) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": party.legal_name,
        "country_code": party.country,
        "city": party.city,
        "postcode": party.postcode,
    }
    for key, line in zip(("addr_l1", "addr_l2", "addr_l3"), party.address_lines, strict=False):
        data[key] = line
    if party.tax_id:
        data["vat_identifier"] = party.tax_id
    if party.emails:
        data["einvoicing_addr"] = party.emails[0]
        data["einvoicing_addr_schemeid"] = "EM"
    return data


def _vat_breakdown(doc: InvoiceDocument) -> dict[str, Any]:
    breakdown = {
        "BT-116": major(doc.subtotal, doc.currency),
        "BT-117": major(doc.tax, doc.currency),
        "BT-118": doc.vat_category,
        "BT-119": f"{doc.vat_rate:.2f}",
    }
    if doc.reverse_charge:
        breakdown["BT-120"] = "Reverse charge"
        breakdown["BT-121"] = REVERSE_CHARGE_EXEMPTION_CODE
    return breakdown


def _line(doc: InvoiceDocument, index: int, line) -> dict[str, Any]:
    data: dict[str, Any] = {
        "BT-126": str(index),
        "BT-153": line.description,
        "BT-129": plain_number(line.quantity),
        "BT-130": UNIT_CODES[line.unit],
        "BT-146": unit_price(line.unit_amount, doc.currency),
        "BT-131": major(line.amount, doc.currency),
        "BT-151": doc.vat_category,
        "BT-152": f"{doc.vat_rate:.2f}",
    }
    if line.breakdown:
        data["BT-127-00"] = [{"BT-127": breakdown_note(line.breakdown, doc.currency)}]
    return data
