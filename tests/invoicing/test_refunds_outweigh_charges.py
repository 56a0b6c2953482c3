"""Refunds of one-time orders bought in an earlier month. An invoice cannot total below zero
(its PDF, Factur-X XML and email refuse it: money owed back is a credit note), so a refund is
given back by a credit note of the invoice that charged the order: when it is given if that
invoice is finalized, else at the close of its month if its refunds outweigh the month's
charges."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from billing import invoicing
from billing.errors import InvoiceNotVoidable
from billing.models import Invoice, InvoiceKind, InvoiceStatus, LineKind
from edgeplug.audit.models import AuditEvent
from marketplace import orders
from marketplace.models import Order, OrderStatus
from tests.concurrency import needs_row_locks, race
from tests.invoices.pdf_reading import NS, embedded_xml
from tests.invoicing.conftest import FEB, JAN
from tests.invoicing.test_invoice_api import billing_member  # noqa: F401

pytestmark = pytest.mark.django_db

DEC = datetime(2025, 12, 1, tzinfo=UTC)
URL = "/admin/billing/invoice/"


def _bought_in_december(customer, amount=5000):
    """An order paid in December, on December's draft."""
    customer.account()
    order = customer.one_time(amount=amount, at=DEC + timedelta(days=3))
    (pk,) = invoicing.close_billing_period(DEC).created
    return order, Invoice.objects.get(pk=pk)


def _refund_in_january(order):
    with time_machine.travel(JAN + timedelta(days=10), tick=False):
        orders.refund_order(order)


def test_a_refund_of_an_invoiced_order_is_a_credit_note_when_it_is_given(
    billing_member,  # noqa: F811
):
    client, customer = billing_member
    order, december = _bought_in_december(customer)
    december = invoicing.finalize_invoice(december)
    _refund_in_january(order)

    (note,) = Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE)
    assert note.finalized_at == JAN + timedelta(days=10)  # the refund's month, for payouts too
    assert note.credit_of == december and note.status == InvoiceStatus.PAID
    assert note.total == -december.total  # the order and the tax charged on it, on its terms
    (line,) = note.lines.all()
    assert line.order_id == order.pk and line.credited_line.invoice == december
    event = AuditEvent.objects.get(action="credit_note_issued")
    assert event.details["reason"] == f"Order {order.pk} refunded"

    closed = invoicing.close_billing_period(JAN)
    assert (closed.created, closed.credit_notes) == ([], [])  # no January invoice at all

    listed = client.get("/api/v1/invoices").json()["results"]
    assert {row["number"] for row in listed} == {december.number, note.number}
    pdf = client.get(f"/api/v1/invoices/{note.pk}/pdf")
    assert pdf.status_code == 200  # before: a January invoice of -59.50 EUR, its PDF a 422
    _, xml = embedded_xml(pdf.content)
    assert xml.findtext(".//ram:TypeCode", namespaces=NS) == "381"


def test_refunds_outweighing_their_month_are_credit_notes_at_its_close(customer):
    """Refunded while December was still a draft: a credit line of January, which has
    nothing else; once December is finalized, January's close credits it instead."""
    order, december = _bought_in_december(customer)
    _refund_in_january(order)
    assert not Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).exists()
    december = invoicing.finalize_invoice(december)

    out = StringIO()
    call_command("close_month", "--period", "2026-01", stdout=out)  # as the operator would

    (note,) = Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE)
    assert out.getvalue().splitlines() == [  # no January invoice below zero
        "2026-01: 0 drafts created, 0 refreshed, 0 unchanged; "
        f"given back by credit notes {note.number}."
    ]
    assert note.credit_of == december
    again = invoicing.close_billing_period(JAN)  # the hourly close runs again: nothing new
    assert (again.created, again.credit_notes) == ([], [])
    assert Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).count() == 1


def test_the_month_keeps_its_charges_when_its_refunds_are_credited_apart(customer):
    order, december = _bought_in_december(customer)
    _refund_in_january(order)
    invoicing.finalize_invoice(december)
    customer.ran(customer.metered(), JAN, 3)  # 10.00 fee + 3.00 usage: less than the refund

    closed = invoicing.close_billing_period(JAN)

    (january,) = Invoice.objects.filter(period_start=JAN)
    assert closed.created == [january.pk] and len(closed.credit_notes) == 1
    assert [line.kind for line in january.lines.all()] == [LineKind.FLAT_FEE, LineKind.USAGE]
    assert january.total > 0
    assert invoicing.recompute_invoice(january).matches  # the rebuild leaves the refund out too


def test_refunds_within_the_months_charges_stay_its_credit_lines(customer):
    order, december = _bought_in_december(customer, amount=100)
    _refund_in_january(order)
    invoicing.finalize_invoice(december)
    customer.ran(customer.metered(), JAN, 3)

    closed = invoicing.close_billing_period(JAN)

    january = Invoice.objects.get(period_start=JAN)
    assert january.lines.filter(kind=LineKind.CREDIT, order=order).exists()
    assert closed.credit_notes == [] and not Invoice.objects.filter(kind="credit_note").exists()


def test_finance_s_charge_keeps_the_refund_on_the_month_and_a_rerun_changes_nothing(customer):
    order, december = _bought_in_december(customer)
    _refund_in_january(order)
    customer.ran(customer.metered(), JAN, 3)
    (pk,) = invoicing.close_billing_period(JAN).created  # December a draft: -50.00 + 13.00
    january = Invoice.objects.get(pk=pk)
    invoicing.add_adjustment_line(january, description="Setup service", amount=4000)
    invoicing.finalize_invoice(december)

    rerun = invoicing.close_billing_period(JAN)  # with the adjustment it is not below zero
    assert rerun.credit_notes == [] and rerun.unchanged == [january.pk]
    january = invoicing.finalize_invoice(january)
    assert january.total > 0 and january.lines.filter(kind=LineKind.CREDIT).exists()

    again = invoicing.close_billing_period(JAN)  # finalized: its refund is given back already
    assert again.credit_notes == []
    assert not Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).exists()


def test_a_draft_left_with_nothing_is_withdrawn_not_issued_at_zero(customer):
    order, december = _bought_in_december(customer)
    _refund_in_january(order)
    (pk,) = invoicing.close_billing_period(JAN).created  # December a draft: -50.00 alone
    assert Invoice.objects.get(pk=pk).total < 0
    invoicing.finalize_invoice(december)

    closed = invoicing.close_billing_period(JAN)

    assert closed.withdrawn == [pk] and len(closed.credit_notes) == 1
    assert not Invoice.objects.filter(pk=pk).exists()
    event = AuditEvent.objects.get(action="invoice_draft_withdrawn")
    assert event.details["credit_notes"] == closed.credit_notes
    assert invoicing.finalize_due_invoices(now=FEB + timedelta(days=4)).finalized == []


@needs_row_locks
@pytest.mark.django_db(transaction=True)
def test_two_doors_crediting_one_refund_at_once_issue_one_credit_note(customer):
    """The Stripe webhook and a close (or two closes) at the same moment."""
    order, december = _bought_in_december(customer)
    invoicing.finalize_invoice(december)
    # Refunded, as each door finds it (the refund, then its credit note).
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.REFUNDED)

    notes = race(invoicing.credit_refund, [order.pk, order.pk, order.pk])

    assert len([note for note in notes if note is not None]) == 1
    assert Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).count() == 1


def test_an_invoice_a_refund_credited_cannot_be_voided(customer):
    """Voided, it would count for nothing while its credit note still gives money back."""
    order, december = _bought_in_december(customer)
    invoicing.add_adjustment_line(december, description="setup", amount=1000)
    december = invoicing.finalize_invoice(december)
    assert december.status == InvoiceStatus.OPEN
    _refund_in_january(order)
    december.refresh_from_db()
    assert december.amount_due == 1190  # the setup is still owed (the refund gave the rest)

    with pytest.raises(InvoiceNotVoidable, match="has credit notes: correct it with another"):
        invoicing.void_invoice(december, reason="issued twice")
    december.refresh_from_db()
    assert december.status == InvoiceStatus.OPEN
