"""An invoice's totals from its lines and tax terms, and the one rule for a draft's terms: a
draft follows its tenant's tax terms until it is finalized. The close takes them into each
draft it makes or refreshes, finalize into the invoice it issues, and a change of the billing
account into the tenant's drafts at once, so a draft shows the tax and total finalizing it
would issue."""

from collections.abc import Iterable

from billing import invoice_builder as builder
from billing.audit import record_invoice_event
from billing.models import BillingAccount, Invoice, InvoiceKind, InvoiceStatus


def set_totals(invoice: Invoice, amounts_paid: Iterable[tuple[int, bool]] | None = None) -> None:
    """The invoice's totals from its lines' (amount, is_paid), read from the database unless
    given, and the rounding of its amount due to what a card can be charged."""
    if amounts_paid is None:
        amounts_paid = invoice.lines.values_list("amount", "is_paid")
    sums = builder.totals(amounts_paid, invoice.tax_rate, invoice.reverse_charge)
    invoice.subtotal, invoice.tax, invoice.total = sums.subtotal, sums.tax, sums.total
    invoice.prepaid_amount = sums.prepaid
    invoice.round_amount_due()


def take_tax_terms(invoice: Invoice, account: BillingAccount | None) -> None:
    """The tenant's tax terms (its billing account's), where it has an account."""
    if account is not None:
        invoice.tax_rate, invoice.reverse_charge = account.tax_rate, account.reverse_charge


def follow_tax_terms(account: BillingAccount, *, actor=None, request=None) -> list[int]:
    """Give the tenant's drafts whose terms differ from ``account``'s its terms (``retax``,
    the drafts locked, in the caller's transaction); the ids of those drafts."""
    drafts = Invoice.objects.select_for_update().filter(
        tenant_id=account.tenant_id, kind=InvoiceKind.INVOICE, status=InvoiceStatus.DRAFT
    )
    return [
        draft.pk
        for draft in drafts.order_by("pk")
        if retax(draft, account, actor=actor, request=request)
    ]


def retax(draft: Invoice, account: BillingAccount | None, *, actor=None, request=None) -> bool:
    """Give the locked ``draft`` the tenant's tax terms with the totals they make, if they
    differ, audited as ``invoice_draft_retaxed``; whether they differed. The close asks it of
    a draft whose lines are unchanged: its account may have changed while the close read the
    one before (``follow_tax_terms`` does not see a draft not yet committed)."""
    if account is None or (draft.tax_rate, draft.reverse_charge) == (
        account.tax_rate,
        account.reverse_charge,
    ):
        return False
    take_tax_terms(draft, account)
    set_totals(draft)
    draft.save()
    record_invoice_event(
        "invoice_draft_retaxed",
        draft,
        tax_rate=str(draft.tax_rate),
        reverse_charge=draft.reverse_charge,
        total=draft.total,
        actor=actor,
        request=request,
    )
    return True
