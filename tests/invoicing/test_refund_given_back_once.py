"""An order refunded while its month was still a draft is given back once: its refund is a
``credit`` line of the refund's month (``credit_refund``), so a credit note of the order's
month, issued later, leaves the order's line alone. It credited it again: the customer got a
second credit note for money already returned, and the vendor's refunds counted it twice."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from billing import invoicing, payout_queries
from billing.models import Invoice, InvoiceKind, LineKind
from marketplace import orders
from marketplace.pricing import format_amount
from tests.invoicing.conftest import FEB, JAN, credited_in_full

pytestmark = pytest.mark.django_db

DEC = datetime(2025, 12, 1, tzinfo=UTC)
URL = "/admin/billing/invoice/"


def _refunded_while_its_month_was_a_draft(customer, *, finalize_january=True):
    """December: a 100 order (and some usage); refunded on 3 January, before December was
    finalized, so January's invoice credits it (finalized, or still a draft)."""
    customer.account()
    order = customer.one_time(amount=100, at=DEC + timedelta(days=3))
    customer.ran(customer.metered(since=DEC), DEC, 3)
    (pk,) = invoicing.close_billing_period(DEC).created
    with time_machine.travel(JAN + timedelta(days=2), tick=False):
        orders.refund_order(order)
    december = invoicing.finalize_invoice(Invoice.objects.get(pk=pk), now=JAN + timedelta(days=4))
    invoicing.close_billing_period(JAN)
    january = Invoice.objects.get(period_start=JAN, kind=InvoiceKind.INVOICE)
    assert list(january.lines.filter(order=order).values_list("kind", "amount")) == [
        (LineKind.CREDIT, -100)
    ]
    if finalize_january:
        invoicing.finalize_invoice(january, now=FEB + timedelta(days=4))
    return order, december


@pytest.mark.parametrize("january", ["finalized", "draft"])
def test_a_credit_note_of_the_month_leaves_a_refunded_order_alone(admin_session, customer, january):
    order, december = _refunded_while_its_month_was_a_draft(
        customer, finalize_january=january == "finalized"
    )
    client, _ = admin_session("finance")

    page = credited_in_full(client, december).content.decode()

    note = Invoice.objects.get(kind=InvoiceKind.CREDIT_NOTE, credit_of=december)
    assert f"credit note {note.number}" in page
    assert not note.lines.filter(order=order).exists()
    others = december.lines.exclude(kind=LineKind.ONE_TIME_ORDER).order_by("position")
    assert others  # its usage and flat fee, credited in full
    assert list(note.lines.order_by("position").values_list("credited_line", "amount")) == [
        (line.pk, -line.amount) for line in others
    ]
    refunds = [
        (payout.period, payout.payout.refunds)
        for payout in payout_queries.vendor_payouts(DEC, FEB)
        if payout.payout.refunds
    ]
    # December is unpaid: the note takes off what it credits, not the order's VAT (19), which
    # January's credit line gave back with the order. It stays asked, never taken off twice.
    december.refresh_from_db()
    assert december.credited_amount == -note.total
    assert (december.status, december.amount_due) == ("open", 19)
    if january == "finalized":
        assert refunds == [("2026-01", 100)]  # the refund's month, once
    else:  # a draft counts nowhere yet; January's close keeps its credit line
        assert refunds == []
        invoicing.close_billing_period(JAN)
        assert Invoice.objects.get(period_start=JAN, kind=InvoiceKind.INVOICE).lines.filter(
            order=order, kind=LineKind.CREDIT
        )


def test_the_refunded_order_alone_is_credited_in_full_already(admin_session, customer):
    order, december = _refunded_while_its_month_was_a_draft(customer)
    line = december.lines.get(order=order)
    client, _ = admin_session("finance")

    page = client.post(
        f"{URL}{december.pk}/credit/", {"line": [line.pk], "reason": "refunded"}, follow=True
    ).content.decode()

    assert "These lines are credited in full already." in page
    assert not Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).exists()


@pytest.mark.parametrize("order_amount", [500, 5000])  # below, then above the month's charges
def test_an_order_paid_and_refunded_in_one_month_is_left_out_of_its_credit_note(
    customer, order_amount
):
    """January: a fee, usage and an order bought and refunded within the month, so its line
    and its refund's ``credit`` line cancel out on January's invoice. A credit note of the
    whole invoice gives back the rest, the invoice's total, and settles it. It gave the refund
    line back (a 5.00 order: 9.52 credited, 0.95 still asked; a 50.00 one: refused as below
    zero)."""
    customer.account()  # 19 % VAT
    customer.ran(customer.metered(), JAN, 3)  # fee 10.00 + 3 h at 1.00
    order = customer.one_time(amount=order_amount, at=JAN + timedelta(days=3))
    with time_machine.travel(JAN + timedelta(days=10), tick=False):
        orders.refund_order(order)
    (pk,) = invoicing.close_billing_period(JAN).created
    january = invoicing.finalize_invoice(Invoice.objects.get(pk=pk), now=FEB + timedelta(days=4))
    pair = january.lines.filter(order=order)
    assert sorted(pair.values_list("kind", "amount")) == [
        (LineKind.CREDIT, -order_amount),
        (LineKind.ONE_TIME_ORDER, order_amount),
    ]
    assert (january.total, january.amount_due) == (1547, 1547)

    note = invoicing.issue_credit_note(january, reason="goodwill")

    assert note.total == -1547
    assert not note.lines.filter(order=order).exists()
    january.refresh_from_db()
    assert (january.status, january.amount_due) == ("paid", 0)
    with pytest.raises(invoicing.InvoiceNotCreditable, match="credited in full already"):
        invoicing.issue_credit_note(january, line_ids=list(pair.values_list("pk", flat=True)))


def test_finance_is_shown_what_the_credit_note_gives_back_before_confirming(
    admin_session, customer
):
    """The confirmation step of *Credit note for the whole invoice* shows the note's amount as
    it is issued: December without its order, which January's credit line gave back. It
    showed the invoice's total less its notes, 1.19 more than the note issued."""
    _, december = _refunded_while_its_month_was_a_draft(customer)
    client, _ = admin_session("finance")

    asked = client.post(URL, {"action": "credit_in_full", "_selected_action": [december.pk]})
    shown = asked.content.decode()
    credited_in_full(client, december)

    note = Invoice.objects.get(kind=InvoiceKind.CREDIT_NOTE, credit_of=december)
    assert format_amount(-note.total, note.currency) in shown
    assert format_amount(december.total, december.currency) not in shown


def test_a_credit_note_of_the_refunds_month_leaves_the_refund_line_alone(customer):
    """January's invoice carries December's order refund as a ``credit`` line (money given
    back on the order's own payment). A credit note of the whole of January gives back the
    rest, never that line: crediting it took the refund back off (a note 1.00 short), so the
    documents said the customer paid the order while its money had gone back, and the order's
    line could never be credited again."""
    order, _ = _refunded_while_its_month_was_a_draft(customer)
    january = Invoice.objects.get(period_start=JAN, kind=InvoiceKind.INVOICE)
    charges = january.lines.exclude(order=order)
    assert charges  # its flat fee

    note = invoicing.issue_credit_note(january, reason="goodwill")

    assert not note.lines.filter(order=order).exists()
    assert list(note.lines.values_list("credited_line", "amount")) == [
        (line.pk, -line.amount) for line in charges.order_by("position")
    ]
    january.refresh_from_db()
    assert (january.status, january.amount_due) == ("paid", 0)
    with pytest.raises(invoicing.InvoiceNotCreditable, match="credited in full already"):
        invoicing.issue_credit_note(january, line_ids=[january.lines.get(order=order).pk])
