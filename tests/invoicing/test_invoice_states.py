"""What an invoice's state allows, one rule each, the same on an invoice and in a query:
unpaid (collected, voidable), issued (counted), creditable, and which ones have a document."""

import pytest

from billing import invoice_documents
from billing.errors import InvoiceNotFinalized
from billing.models import UNPAID, Invoice, InvoiceKind, InvoiceStatus
from tests.factories import TenantFactory

from .conftest import FEB, JAN

pytestmark = pytest.mark.django_db


def _every_state() -> list[Invoice]:
    """One row per status of an invoice, and an issued credit note, as finalize leaves them."""
    tenant = TenantFactory()
    rows = []
    for n, status in enumerate(InvoiceStatus):
        invoice = Invoice.objects.create(
            tenant=tenant,
            currency=f"X{n:02d}",
            period_start=JAN,
            period_end=FEB,
            finalize_after=FEB,
        )
        if status != InvoiceStatus.DRAFT:
            Invoice.objects.filter(pk=invoice.pk).update(
                status=status, number=f"EP-2026-{n:06d}", finalized_at=FEB
            )
        rows.append(invoice)
    note = Invoice.objects.create(
        tenant=tenant,
        kind=InvoiceKind.CREDIT_NOTE,
        credit_of=rows[1],
        currency="X01",
        period_start=JAN,
        period_end=FEB,
        finalize_after=FEB,
    )
    Invoice.objects.filter(pk=note.pk).update(
        status=InvoiceStatus.PAID, number="CN-2026-000001", finalized_at=FEB
    )
    return list(Invoice.objects.filter(tenant=tenant).order_by("pk"))


def test_open_failed_and_uncollectible_invoices_are_unpaid_and_voidable_in_queries_and_rows():
    invoices = _every_state()
    unpaid = {i.pk for i in invoices if i.kind == InvoiceKind.INVOICE and i.status in UNPAID}
    assert {i.pk for i in invoices if i.is_unpaid} == unpaid
    credited = {i.credit_of_id for i in invoices if i.credit_of_id}
    assert credited and credited <= unpaid  # the open one has a credit note
    # ... which corrects it by another credit note, not by a void
    assert {i.pk for i in invoices if i.is_voidable} == unpaid - credited
    assert set(Invoice.objects.unpaid().values_list("pk", flat=True)) == unpaid
    assert len(unpaid) == 3


def test_finalized_invoices_not_void_are_creditable_and_credit_notes_are_not():
    creditable = {i.status for i in _every_state() if i.is_creditable}
    assert creditable == {
        InvoiceStatus.OPEN,
        InvoiceStatus.PAID,
        InvoiceStatus.PAYMENT_FAILED,
        InvoiceStatus.UNCOLLECTIBLE,
    }


def test_drafts_and_void_invoices_are_not_issued_and_credit_notes_are():
    invoices = _every_state()
    issued = set(Invoice.objects.issued().values_list("status", "kind"))
    assert (InvoiceStatus.DRAFT, InvoiceKind.INVOICE) not in issued
    assert (InvoiceStatus.VOID, InvoiceKind.INVOICE) not in issued
    assert (InvoiceStatus.PAID, InvoiceKind.CREDIT_NOTE) in issued
    assert len(issued) == len(invoices) - 2


def test_only_a_draft_has_no_document():
    for invoice in _every_state():
        is_draft = invoice.status == InvoiceStatus.DRAFT
        assert invoice_documents.has_document(invoice) is not is_draft
        if is_draft:
            with pytest.raises(InvoiceNotFinalized):
                invoice_documents.invoice_pdf(invoice)
