"""Migrating billing back before credit notes kept what they took off an unpaid invoice
(0020_credit_note_applied_amount), and forward again: each note issued before it is given its
share of its invoice's credited amount, as it took it (an order's note its VAT only, the note
crediting the last line the minor unit its VAT rounding left), and the column is frozen by
the trigger. Nothing stops the way back."""

import pytest
from django.db import IntegrityError

from billing import invoicing
from billing.models import Invoice
from marketplace.models import Order
from tests.invoicing.conftest import JAN
from tests.migrations import migrating_billing_back_to, refusal_going_back

pytestmark = migrating_billing_back_to("0019")

BEFORE_APPLIED = "0019_new_card_charge"
ORDER_VAT = 931  # 19 % of the 49.00 order paid at checkout


def credited_line_by_line(customer) -> tuple[Invoice, list[Invoice]]:
    """January's unpaid invoice (a 49.00 order paid at checkout, the fee, three agent-hours,
    two 10.23 adjustments: its VAT a cent more than its lines' each), credited line by line,
    the order by its refund first; its notes in that order."""
    order = customer.one_time(amount=4900)
    customer.ran(customer.plan, JAN, 3)
    (pk,) = invoicing.close_billing_period(JAN).created
    draft = Invoice.objects.get(pk=pk)
    for _ in range(2):
        invoicing.add_adjustment_line(draft, description="Support hours", amount=1023)
    invoice = invoicing.finalize_invoice(draft)
    Order.objects.filter(pk=order.pk).update(status="refunded")
    notes = [invoicing.credit_refund(order.pk)]
    for line in invoice.lines.exclude(order=order).order_by("position"):
        notes.append(invoicing.issue_credit_note(invoice, line_ids=[line.pk]))
    invoice.refresh_from_db()
    return invoice, notes


def test_forward_again_each_note_takes_off_what_it_did(billed):
    invoice, notes = credited_line_by_line(billed)
    taken_off = [note.applied_amount for note in notes]
    assert taken_off[0] == ORDER_VAT and taken_off[-1] == -notes[-1].total + 1
    assert sum(taken_off) == invoice.credited_amount == invoice.total - invoice.prepaid_amount

    assert refusal_going_back("billing", BEFORE_APPLIED) is None  # back, then forward again

    assert [Invoice.objects.get(pk=note.pk).applied_amount for note in notes] == taken_off
    with pytest.raises(IntegrityError, match="is finalized and cannot be changed"):
        Invoice.objects.filter(pk=notes[0].pk).update(applied_amount=1)
