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
from billing.models import Invoice, InvoiceKind, InvoiceStatus, LineKind
from edgeplug.audit.models import AuditEvent
from marketplace import orders
from tests.invoices.pdf_reading import NS, embedded_xml
from tests.invoicing.conftest import JAN
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
        f"2026-01: 0 drafts created, 0 refreshed, 0 unchanged; refunds credited by {note.number}."
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
