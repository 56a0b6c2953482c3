"""A refund's credit note lowers what its order's unpaid invoice asks (the tax charged on the
order): while a card charge of that invoice is still processing it is not issued, as no
credit note is (``issue_credit_note``). A refund given meanwhile stands
(finance's, or Stripe's own) and, with no credit note, is a ``credit`` line of its month; the
close leaves such a refund on its month and credits it once the outcome is known."""

from datetime import timedelta

import pytest
import time_machine

from billing import invoicing
from billing.models import Invoice, InvoiceKind, InvoiceStatus, LineKind
from marketplace import orders
from marketplace.models import Order
from tests.commerce.conftest import refund_in_admin
from tests.invoicing.conftest import JAN
from tests.invoicing.test_refunds_outweigh_charges import _bought_in_december

pytestmark = pytest.mark.django_db


def _processing(invoice) -> Invoice:
    """The state ``collection._attempt`` leaves while Stripe says the charge is processing."""
    Invoice.objects.filter(pk=invoice.pk).update(
        payment_attempts=1,
        next_payment_attempt_at=None,
        payment_failure_code="",
        payment_failure_detail="",
    )
    assert Invoice.objects.awaiting_outcome().filter(pk=invoice.pk).exists()
    return Invoice.objects.get(pk=invoice.pk)


def _failed(invoice) -> None:
    """Its outcome arrived: declined, the dunning retries it later."""
    Invoice.objects.filter(pk=invoice.pk).update(
        status=InvoiceStatus.PAYMENT_FAILED,
        next_payment_attempt_at=JAN + timedelta(days=20),
        payment_failure_code="card_declined",
    )


def test_finance_refunds_while_the_invoice_s_charge_is_processing(customer, admin_session):
    """The refund stands (money that went back is never refused, and Stripe's own refund
    could not be), its credit note does not: the refund is a ``credit`` line of its month."""
    order, december = _bought_in_december(customer)
    december = _processing(invoicing.finalize_invoice(december))
    assert december.amount_due > 0  # the tax on the order: the credit note would lower it
    client, _ = admin_session("finance")

    with time_machine.travel(JAN + timedelta(days=10), tick=False):
        refund_in_admin(client, order.pk)
        closed = invoicing.close_billing_period(JAN)

    assert Order.objects.get(pk=order.pk).status == "refunded"
    assert not Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).exists()
    assert Invoice.objects.get(pk=december.pk).credited_amount == 0
    (january,) = Invoice.objects.filter(pk__in=closed.created)
    assert january.lines.filter(kind=LineKind.CREDIT, order=order).exists()


def test_the_close_leaves_the_refund_on_its_month_until_the_outcome(customer):
    order, december = _bought_in_december(customer)
    with time_machine.travel(JAN + timedelta(days=10), tick=False):
        orders.refund_order(order)  # December still a draft: a credit line of January
    december = _processing(invoicing.finalize_invoice(december))

    closed = invoicing.close_billing_period(JAN)  # not failed by the refused credit note

    assert closed.credit_notes == []
    assert not Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).exists()
    january = Invoice.objects.get(period_start=JAN)
    assert january.lines.filter(kind=LineKind.CREDIT, order=order).exists()
    december.refresh_from_db()
    assert december.credited_amount == 0

    _failed(december)
    again = invoicing.close_billing_period(JAN)

    (note,) = Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE)
    assert again.credit_notes == [note.number] and again.withdrawn == [january.pk]
    december.refresh_from_db()
    assert december.credited_amount == -note.total - order.amount
