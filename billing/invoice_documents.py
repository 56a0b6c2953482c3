"""A finalized invoice or credit note as its document (billing/documents): the PDF a tenant
downloads, the finance ZIP holds and the finalize email carries (billing.invoice_emails), all
from one mapping.

Credit notes are stored with negative amounts and printed positive (Factur-X type 381); a
negative line of an invoice (a refund credited, a finance adjustment) is printed as a negative
quantity at a positive price, as EN 16931 wants item prices to be positive.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django import db
from django.conf import settings

from billing.billing_accounts import accounts_of, distinct_emails
from billing.documents.document import DocumentLine, InvoiceDocument, Party, breakdown_note
from billing.errors import InvoiceNotFinalized, InvoiceVoid
from billing.models import (
    BillingAccount,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
)

UNITS = {
    LineKind.USAGE: "agent-hour",
    LineKind.LATE_USAGE: "agent-hour",
    LineKind.FLAT_FEE: "month",
}


def _party(data: Mapping[str, Any]) -> Party:
    lines = (data.get("address_line1", ""), data.get("address_line2", ""))
    return Party(
        legal_name=data.get("legal_name", ""),
        address_lines=tuple(line for line in lines if line),
        postcode=data.get("postcode", ""),
        city=data.get("city", ""),
        country=data.get("country", ""),
        tax_id=data.get("tax_id", ""),
        emails=tuple(data.get("invoice_emails", ())),
    )


def _slices(breakdown: Mapping[str, Any]) -> tuple[dict, ...]:
    """The tier slices printed under a line, adding up to it. Late usage is priced as the
    month's hours now less what the month billed before: its slices are both, the second
    taken off, and what credit notes gave back of the month already (a lower price gives
    back no more than is still held)."""
    if "now" not in breakdown:
        return _tiers(breakdown)
    slices = _tiers(breakdown["now"], "now: ") + _tiers(
        breakdown.get("billed_before", {}), "billed before: ", sign=-1
    )
    if credited := breakdown.get("credited_before"):
        given_back = {"tier": "given back already", "quantity": "1", "unit_amount": str(credited)}
        slices += ({**given_back, "amount": credited},)
    return slices


def _tiers(breakdown: Mapping[str, Any], label: str = "", sign: int = 1) -> tuple[dict, ...]:
    return tuple(_tier(item, label, sign) for item in breakdown.get("lines", ()))


def _tier(item: Mapping[str, Any], label: str, sign: int) -> dict:
    """One priced line of a breakdown as a slice, with its tier's flat amount when it has one
    (unsigned, like the quantity and price: a taken-off slice's sign is on its amount). A line
    stored before lines had ``flat_amount`` has none, and its slice is as it was."""
    slice_ = {
        "tier": label + item.get("description", ""),
        "quantity": str(item.get("quantity", "")),
        "unit_amount": str(item.get("unit_amount", "")),
        "amount": sign * item.get("amount", 0),
    }
    if flat := item.get("flat_amount", 0):
        slice_["flat_amount"] = flat
    return slice_


def breakdown_text(breakdown: Mapping[str, Any], currency: str) -> str:
    """A stored breakdown (an invoice line's, an order's) in words, in major units, as the
    e-invoice's line note writes it (``breakdown_note``): the admin shows it so."""
    return breakdown_note(_slices(breakdown or {}), currency)


def _line(line: InvoiceLine, sign: int) -> DocumentLine:
    quantity, unit_amount, amount = line.quantity, line.unit_amount * sign, line.amount * sign
    if unit_amount < 0:
        quantity, unit_amount = -quantity, -unit_amount
    return DocumentLine(
        description=line.description,
        quantity=quantity.normalize() if quantity else Decimal(0),
        # A credit note's line gives back the line it credits, in that line's unit.
        unit=UNITS.get(line.credited_line.kind if line.credited_line else line.kind, "unit"),
        unit_amount=unit_amount,
        amount=amount,
        breakdown=_slices(line.breakdown or {}),
    )


def has_document(invoice: Invoice) -> bool:
    """Whether the invoice has its document (PDF, e-invoice, email): once it is finalized,
    numbered and dated; a draft has none."""
    return invoice.finalized_at is not None


def document_refusal(invoice: Invoice) -> InvoiceNotFinalized | InvoiceVoid | None:
    """Why the invoice's document (PDF, e-invoice, email) cannot be had, or None: a draft has
    none yet; a void invoice's is withdrawn, as it would ask for a payment nobody owes (and
    an accounting import of its e-invoice would book it as owed)."""
    if not has_document(invoice):
        return InvoiceNotFinalized(
            f"Draft {invoice.pk} has no document yet: it exists once the invoice is finalized."
        )
    if invoice.status == InvoiceStatus.VOID:
        # Not its reason: finance's words, which the tenant's API never shows.
        return InvoiceVoid(
            f"Invoice {invoice.number} is void: nothing is due, and its document is withdrawn "
            "(not sent, downloaded or exported)."
        )
    return None


def require_document(invoice: Invoice) -> None:
    """Refuse a draft or a void invoice (``document_refusal``); each door says it its own way."""
    if refusal := document_refusal(invoice):
        raise refusal


def seller_of(invoice: Invoice) -> Party:
    """The seller an invoice was issued by (its finalize's), emails included: its documents
    print it, and mail about the invoice is answered to its first email."""
    return _party((invoice.account_snapshot or {}).get("seller", settings.BILLING_SELLER))


def invoice_document(invoice: Invoice) -> InvoiceDocument:
    """The document of a finalized invoice that is not void, with the seller and buyer it was
    issued to."""
    require_document(invoice)
    sign = -1 if invoice.kind == InvoiceKind.CREDIT_NOTE else 1
    return InvoiceDocument(
        kind="credit_note" if invoice.kind == InvoiceKind.CREDIT_NOTE else "invoice",
        number=invoice.number or "",
        issue_date=invoice.issue_date,
        period_start=invoice.period_start.date(),
        period_end=(invoice.period_end - timedelta(days=1)).date(),
        due_date=invoice.due_date,
        currency=invoice.currency,
        seller=seller_of(invoice),
        buyer=_party((invoice.account_snapshot or {}).get("buyer", {})),
        lines=tuple(
            _line(line, sign)
            for line in invoice.lines.select_related("credited_line").order_by("position", "id")
        ),
        tax_rate=invoice.tax_rate,
        reverse_charge=invoice.reverse_charge,
        subtotal=invoice.subtotal * sign,
        tax=invoice.tax * sign,
        total=invoice.total * sign,
        prepaid=invoice.prepaid_amount * sign,
        paid=invoice.status == InvoiceStatus.PAID,
        credit_of=invoice.credit_of.number if invoice.credit_of_id else "",
        rounding=invoice.rounding_amount,
        credited=invoice.credited_amount,
        taken_off=invoice.applied_amount,
        money_back=invoice.refund_amount,
        money_back_to_card=invoice.refunds_to_card,
    )


# What a finalized document that fails to render with no refusal (no DomainError) is said to
# be: an error of ours, which each try meets again (the XML library failing on text stored
# before a rule refused it). The email task keeps it on the invoice; finance's pdfs.zip names
# it, rather than breaking off behind a 200.
NOT_RENDERED = "document_not_rendered"
# What may pass at the next try, so is never said to be NOT_RENDERED: the database lost or
# busy, a file (a font, the stylesheet) not read, memory short.
MAY_PASS = (db.Error, OSError, MemoryError)


def invoice_pdf(invoice: Invoice) -> bytes:
    """PDF/A-3 with the Factur-X XML embedded (where the currency allows it)."""
    document = invoice_document(invoice)  # a draft is refused before WeasyPrint loads
    from billing.documents.rendering import render_pdf  # WeasyPrint: loaded on first use

    return render_pdf(document)


def invoice_recipients(invoice: Invoice) -> list[str]:
    """Who is emailed about an invoice (its document on finalize, finance's resend, payment
    notices): the tenant's billing account's invoice emails now, else those the invoice was
    issued to, each mailbox once (``distinct_emails``: an account stored before that rule may
    hold one twice). Only who is emailed follows the account; the printed document keeps the
    buyer of its finalize."""
    return recipients_of([invoice])[invoice.pk]


def recipients_of(invoices: Iterable[Invoice]) -> dict[int, list[str]]:
    """``invoice_recipients`` of each of ``invoices``, by id, their tenants' billing accounts
    read in one query whatever their number (finance's resend page lists many)."""
    invoices = list(invoices)
    accounts = accounts_of(invoice.tenant_id for invoice in invoices)
    return {
        invoice.pk: _recipients(invoice, accounts.get(invoice.tenant_id)) for invoice in invoices
    }


def _recipients(invoice: Invoice, account: BillingAccount | None) -> list[str]:
    if account is not None and account.invoice_emails:
        return distinct_emails(account.invoice_emails)
    buyer = (invoice.account_snapshot or {}).get("buyer", {})
    return distinct_emails(buyer.get("invoice_emails", []))
