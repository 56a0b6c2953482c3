"""Finance's adjustment may lower a draft to zero, never below: a draft below zero is never
finalized (``negative_total``) and an adjustment is never taken off, so such a draft would be
stuck for good. The adjustment is refused, nothing written, and finance is told why."""

from datetime import timedelta

import pytest

from billing import invoicing
from billing.errors import AdjustmentBelowPrepaid, InvoiceNegativeTotal
from billing.models import Invoice, InvoiceStatus, LineKind
from edgeplug.audit.models import AuditEvent
from tests.invoicing.conftest import FEB, JAN, adjust_in_admin

pytestmark = pytest.mark.django_db

URL = "/admin/billing/invoice/"


def _amount(minor: int) -> str:
    return f"{minor / 100:.2f}"


def test_finance_cannot_adjust_a_draft_below_zero(admin_session, draft):
    client, _ = admin_session("finance")
    before = Invoice.objects.get(pk=draft.pk)

    page = adjust_in_admin(
        client, draft, "Goodwill", _amount(-(draft.subtotal + 1)), follow=True
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

    adjust_in_admin(client, draft, "Goodwill", _amount(-draft.subtotal))
    client.post(f"{URL}{draft.pk}/finalize/")

    draft.refresh_from_db()
    assert (draft.total, draft.status) == (0, InvoiceStatus.PAID)


def test_finance_cannot_adjust_a_month_paid_in_advance_below_what_it_asks(admin_session, customer):
    """A month holding a one-time order paid at checkout (10.00, 19% VAT: it asks 1.90 more)
    lowered by 5.00 would total 5.95 against 10.00 paid: finalized, it would say "paid,
    nothing due" and the 4.05 owed back would be lost. Refused; down to what it asks passes."""
    customer.account()
    customer.one_time(amount=1000)
    (pk,) = invoicing.close_billing_period(JAN).created
    draft = Invoice.objects.get(pk=pk)
    assert (draft.total, draft.prepaid_amount, draft.amount_due) == (1190, 1000, 190)
    client, _ = admin_session("finance")

    page = adjust_in_admin(client, draft, "Goodwill", "-5.00", follow=True).content.decode()

    assert "asking less than nothing (-4.05 EUR)" in page
    assert "refunding an order" in page
    assert "Adjustment of" not in page
    draft.refresh_from_db()
    assert not draft.lines.filter(kind=LineKind.ADJUSTMENT).exists()
    assert (draft.total, draft.amount_due) == (1190, 190)
    assert not AuditEvent.objects.filter(action="invoice_adjusted").exists()
    with pytest.raises(AdjustmentBelowPrepaid) as refused:  # the action every door calls
        invoicing.add_adjustment_line(draft, description="Goodwill", amount=-500)
    assert (refused.value.code, refused.value.status) == ("adjustment_below_prepaid", 409)

    # 1.59 off leaves 8.41 + 1.60 VAT = 10.01: it still asks 0.01, so it is added.
    adjust_in_admin(client, draft, "Goodwill", "-1.59")
    draft.refresh_from_db()
    assert (draft.total, draft.amount_due) == (1001, 1)


def test_finalize_asks_it_again_on_the_tax_terms_it_takes(admin_session, customer):
    """The adjustment left the draft asking 0.01 at 19% VAT; the customer then turned on
    reverse charge, which finalize takes: the draft would ask -1.59. Finalize refuses it
    (both doors), rather than issuing it 'paid, nothing due'."""
    account = customer.account()
    customer.one_time(amount=1000)
    (pk,) = invoicing.close_billing_period(JAN).created
    draft = Invoice.objects.get(pk=pk)
    invoicing.add_adjustment_line(draft, description="Goodwill", amount=-159)
    account.reverse_charge = True
    account.save()
    client, _ = admin_session("finance")

    page = client.post(f"{URL}{draft.pk}/finalize/", follow=True).content.decode()

    assert "would ask less than nothing (-1.59 EUR)" in page
    draft.refresh_from_db()
    assert (draft.status, draft.number) == (InvoiceStatus.DRAFT, None)
    run = invoicing.finalize_due_invoices(now=FEB + timedelta(days=10))
    assert run.refused == {draft.pk: "adjustment_below_prepaid"} and run.finalized == []
