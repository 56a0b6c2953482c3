"""Finance's adjustment may lower a draft to zero, never below: a draft below zero is never
finalized (``negative_total``) and an adjustment is never taken off, so such a draft would be
stuck for good. The adjustment is refused, nothing written, and finance is told why."""

import pytest

from billing import invoicing
from billing.errors import InvoiceNegativeTotal
from billing.models import Invoice, InvoiceStatus, LineKind
from edgeplug.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

URL = "/admin/billing/invoice/"


def _amount(minor: int) -> str:
    return f"{minor / 100:.2f}"


def test_finance_cannot_adjust_a_draft_below_zero(admin_session, draft):
    client, _ = admin_session("finance")
    before = Invoice.objects.get(pk=draft.pk)

    page = client.post(
        f"{URL}{draft.pk}/adjust/",
        {"description": "Goodwill", "amount": _amount(-(draft.subtotal + 1))},
        follow=True,
    ).content.decode()

    assert "below zero: it could never be finalized" in page
    assert "Adjustment of" not in page
    draft.refresh_from_db()
    assert not draft.lines.filter(kind=LineKind.ADJUSTMENT).exists()
    assert (draft.subtotal, draft.total) == (before.subtotal, before.total)
    assert not AuditEvent.objects.filter(action="invoice_adjusted").exists()
    with pytest.raises(InvoiceNegativeTotal) as refused:  # the action every door calls
        invoicing.add_adjustment_line(draft, description="Goodwill", amount=-(draft.subtotal + 1))
    assert (refused.value.code, refused.value.status) == ("negative_total", 409)


def test_finance_may_adjust_a_draft_down_to_zero_and_finalize_it(admin_session, draft):
    client, _ = admin_session("finance")

    client.post(
        f"{URL}{draft.pk}/adjust/",
        {"description": "Goodwill", "amount": _amount(-draft.subtotal)},
    )
    client.post(f"{URL}{draft.pk}/finalize/")

    draft.refresh_from_db()
    assert (draft.total, draft.status) == (0, InvoiceStatus.PAID)
