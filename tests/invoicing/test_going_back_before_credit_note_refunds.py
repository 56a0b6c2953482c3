"""Migrating billing back before credit notes recorded the money they give back
(0016_credit_note_refund): forward again would take every note as owing nothing, so one that
still owes money back stops the way back, named, nothing changed; once it is paid back (the
audit log keeps how), billing goes back and forward again, and a finalized invoice is still
frozen by the trigger."""

import pytest
from django.db import IntegrityError

from billing import collection, invoicing, money_back
from billing.models import Invoice
from tests.invoicing.test_going_back_before_credited_amounts import issued
from tests.migrations import column_names, migrating_billing_back_to, refusal_going_back

pytestmark = migrating_billing_back_to("0015")

BEFORE_REFUNDS = "0015_invoice_rounding_amount"


def test_a_note_owing_money_back_stops_the_way_back_named(billed):
    invoice = collection.record_offline_payment(issued(billed), reference="SEPA 1")
    note = invoicing.issue_credit_note(invoice, reason="goodwill")
    assert note.refund_amount == invoice.amount_due > 0

    message = refusal_going_back("billing", BEFORE_REFUNDS) or ""

    assert f"{note.number} ({note.refund_amount} EUR minor units owed)" in message
    assert "refund_amount" in column_names("billing_invoice")
    assert Invoice.objects.get(pk=note.pk).refund_amount == note.refund_amount


def test_once_paid_back_billing_goes_back_and_forward_again(billed):
    invoice = collection.record_offline_payment(issued(billed), reference="SEPA 1")
    note = invoicing.issue_credit_note(invoice, reason="goodwill")
    money_back.record_money_paid_back(note, reference="SEPA back 1")

    assert refusal_going_back("billing", BEFORE_REFUNDS) is None

    assert "refund_amount" in column_names("billing_invoice")
    with pytest.raises(IntegrityError, match="is finalized and cannot be changed"):
        Invoice.objects.filter(pk=note.pk).update(refund_amount=5)


def test_notes_from_before_it_count_as_paid_back_so_a_later_note_gives_back_only_the_rest(
    billed,
):
    """A note of a paid invoice issued before 0016 was money owed back, settled by finance by
    hand. Filled in as paid back, a later note crediting the rest gives back only the rest
    (it gave back the whole invoice again when earlier notes counted as nothing)."""
    invoice = collection.record_offline_payment(issued(billed), reference="SEPA 1")
    fee, *rest = invoice.lines.order_by("position")
    first = invoicing.issue_credit_note(invoice, line_ids=[fee.pk], reason="fee waived")
    money_back.record_money_paid_back(first, reference="SEPA back 1")

    assert refusal_going_back("billing", BEFORE_REFUNDS) is None  # back, then forward again

    first.refresh_from_db()
    assert (first.refund_amount, first.refund_reference) == (
        1190,
        "before billing 0016: settled outside EdgePlug",
    )
    assert first.refunded_at == first.finalized_at
    last = invoicing.issue_credit_note(invoice, line_ids=[line.pk for line in rest])
    assert last.refund_amount == invoice.amount_due - 1190
