"""A credit note that credits only negative lines (finance's goodwill adjustment, a refund's
credit line) would give back less than nothing: its document, printed positive, totals below
zero and can never be produced (PDF, email, the finance PDF export). It is refused before
anything is numbered or written; with the lines they reduce, such lines are credited."""

import pytest

from billing import invoicing
from billing.errors import InvoiceNegativeTotal
from billing.invoice_documents import invoice_pdf
from billing.models import Invoice, InvoiceKind, InvoiceNumberSequence, LineKind
from edgeplug.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

URL = "/admin/billing/invoice/"


@pytest.fixture
def with_goodwill(draft):
    """January's invoice, finalized with finance's goodwill adjustment of -2.50."""
    invoicing.add_adjustment_line(draft, description="Goodwill", amount=-250)
    return invoicing.finalize_invoice(draft)


def test_finance_cannot_credit_only_a_goodwill_adjustment(admin_session, with_goodwill):
    client, _ = admin_session("finance")
    goodwill = with_goodwill.lines.get(kind=LineKind.ADJUSTMENT)

    page = client.post(
        f"{URL}{with_goodwill.pk}/credit/", {"line": [goodwill.pk]}, follow=True
    ).content.decode()

    assert "would give back less than nothing" in page
    assert "-2.50 EUR" in page
    assert not Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).exists()
    assert not InvoiceNumberSequence.objects.filter(series="CN", last__gt=0).exists()
    assert not AuditEvent.objects.filter(action="credit_note_issued").exists()
    with_goodwill.refresh_from_db()
    assert with_goodwill.credited_amount == 0
    with pytest.raises(InvoiceNegativeTotal) as refused:  # the action every door calls
        invoicing.issue_credit_note(with_goodwill, line_ids=[goodwill.pk])
    assert (refused.value.code, refused.value.status) == ("negative_total", 409)


def test_the_adjustment_is_credited_with_the_lines_it_reduces(admin_session, with_goodwill):
    client, _ = admin_session("finance")
    chosen = [line.pk for line in with_goodwill.lines.all()]

    client.post(f"{URL}{with_goodwill.pk}/credit/", {"line": chosen})

    note = Invoice.objects.get(kind=InvoiceKind.CREDIT_NOTE)
    assert note.total == -with_goodwill.total
    assert invoice_pdf(note).startswith(b"%PDF-")  # its document can be produced
