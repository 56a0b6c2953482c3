"""Late usage on a ``volume`` plan can lower what its month's usage costs (more hours reach a
cheaper tier for all of them): a negative ``late_usage`` line. A month that cannot carry it
(nothing else to charge) is never finalized below zero; its close gives the difference back
by a credit note of the invoices that charged the month instead, once, and the late hours
count as billed. Before: February's draft was that negative line alone, refused at every
finalize, and the money was never given back."""

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from billing import invoice_documents, invoicing, payout_queries
from billing.errors import InvoiceNegativeTotal
from billing.models import Invoice, InvoiceKind, InvoiceStatus, LineKind
from edgeplug.audit.models import AuditEvent
from tests.concurrency import needs_row_locks, race
from tests.invoices.pdf_reading import pdf_text
from tests.invoicing.conftest import APR, FEB, JAN, MAR

pytestmark = pytest.mark.django_db

VOLUME = {  # every hour at the tier the month's total reaches
    "scheme": "volume",
    "tiers": [{"up_to": 10, "unit_amount": 100}, {"up_to": None, "unit_amount": 50}],
}


def _finalized(invoice_id):
    return invoicing.finalize_invoice(Invoice.objects.get(pk=invoice_id))


def _notes():
    return list(Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).order_by("number"))


@pytest.fixture
def january(customer):
    """Ten January hours at 1.00, invoiced and finalized (11.90 due with 19% VAT); then one
    more January hour, reported late: eleven hours cost 5.50, 4.50 less than billed."""
    customer.account()
    ent = customer.metered(terms=VOLUME)
    customer.ran(ent, JAN, 10)
    (jan_id,) = invoicing.close_billing_period(JAN).created
    jan = _finalized(jan_id)
    assert (jan.subtotal, jan.amount_due) == (1000, 1190)
    customer.ran(ent, JAN + timedelta(days=20), 1)
    return ent, jan


def test_a_month_left_below_zero_by_a_lower_volume_price_is_a_credit_note(customer, january):
    ent, jan = january
    out = StringIO()
    call_command("close_month", "--period", "2026-02", stdout=out)  # as the operator would

    assert not Invoice.objects.filter(kind=InvoiceKind.INVOICE, period_start=FEB).exists()
    (note,) = _notes()
    assert note.number in out.getvalue()
    assert note.credit_of == jan and note.status == InvoiceStatus.PAID
    assert (note.subtotal, note.total) == (-450, -536)  # on January's terms: 19% VAT
    (line,) = note.lines.all()
    assert line.credited_line == jan.lines.get(kind=LineKind.USAGE)
    assert (line.entitlement_id, line.period_start, line.usage_seconds) == (ent.pk, JAN, 3600)
    assert "1.000000 agent-hours of 2026-01 reported after" in line.description
    assert "fell from 10.00 EUR to 5.50 EUR" in line.description
    jan.refresh_from_db()
    assert (jan.credited_amount, jan.amount_due) == (536, 654)  # eleven hours, VAT included
    text = pdf_text(invoice_documents.invoice_pdf(note))  # the tenant's document of it
    assert note.number in text and "5.50 EUR" in text and "5.36" in text
    event = AuditEvent.objects.get(action="credit_note_issued")
    assert event.details["reason"] == "Late usage of 2026-01 lowered its price"

    # Given once: February closed again, and March's close, find nothing late any more.
    again = invoicing.close_billing_period(FEB)
    assert (again.created, again.credit_notes) == ([], [])
    customer.ran(ent, MAR, 1)
    (mar_id,) = invoicing.close_billing_period(MAR).created
    assert not Invoice.objects.get(pk=mar_id).lines.filter(kind=LineKind.LATE_USAGE).exists()
    assert len(_notes()) == 1
    # January's lines, rebuilt, are what it billed (its late hour is the note's); only the
    # digest of its rollups tells that an hour came since.
    (difference,) = invoicing.recompute_invoice(jan).differences
    assert difference.startswith("rollup digest")


def test_a_month_with_charges_enough_carries_the_lower_price_itself(customer, january):
    ent, _ = january
    customer.ran(ent, FEB, 10)  # 10.00 of February usage

    (feb_id,) = invoicing.close_billing_period(FEB).created

    feb = _finalized(feb_id)
    assert sorted(feb.lines.values_list("kind", "amount")) == [
        (LineKind.LATE_USAGE, -450),
        (LineKind.USAGE, 1000),
    ]
    assert _notes() == []


def test_a_drop_larger_than_the_latest_charge_is_given_back_by_each_invoice(customer):
    """January billed 8 hours (8.00); February's late usage 2 more (2.00, ten hours 10.00);
    March's, one more: eleven hours cost 5.50. February's charge is given back whole, the
    rest (2.50) by January's invoice."""
    customer.account()
    ent = customer.metered(terms=VOLUME)
    customer.ran(ent, JAN, 8)
    jan = _finalized(invoicing.close_billing_period(JAN).created[0])
    customer.ran(ent, JAN + timedelta(days=10), 2)
    customer.ran(ent, FEB, 1)  # February has usage of its own: it carries its late hours
    feb = _finalized(invoicing.close_billing_period(FEB).created[0])
    assert feb.lines.get(kind=LineKind.LATE_USAGE).amount == 200
    customer.ran(ent, JAN + timedelta(days=20), 1)

    with time_machine.travel(APR + timedelta(days=1), tick=False):
        closed = invoicing.close_billing_period(MAR)

    assert closed.created == []
    first, second = _notes()
    assert closed.credit_notes == [first.number, second.number]
    assert (first.credit_of, first.subtotal) == (feb, -200)
    assert (second.credit_of, second.subtotal) == (jan, -250)
    assert first.lines.get().usage_seconds == 3600  # the late hour counts as billed once
    assert second.lines.get().usage_seconds is None
    # The vendor's statements count both as refunds of the month they were given.
    (payout,) = payout_queries.vendor_payouts(APR)
    assert payout.payout.refunds == 450
    assert invoicing.close_billing_period(APR).credit_notes == []


@needs_row_locks
@pytest.mark.django_db(transaction=True)
def test_two_closes_at_once_give_the_drop_back_once(customer, january):
    results = race(invoicing.close_billing_period, [FEB, FEB, FEB])

    assert sorted(len(result.credit_notes) for result in results) == [0, 0, 1]
    assert len(_notes()) == 1


def test_a_drop_waits_while_the_month_it_lowers_is_a_draft_then_its_draft_is_withdrawn(customer):
    """January still a draft when February closes: nothing to credit yet, so February's draft
    is the negative line alone, which finalize refuses (as every draft left so before this
    rule). Once January is finalized, February's next close credits it and withdraws the
    draft rather than issue an empty invoice."""
    customer.account()
    ent = customer.metered(terms=VOLUME)
    customer.ran(ent, JAN, 10)
    (jan_id,) = invoicing.close_billing_period(JAN).created
    customer.ran(ent, JAN + timedelta(days=20), 1)

    (feb_id,) = invoicing.close_billing_period(FEB).created

    assert _notes() == []
    feb = Invoice.objects.get(pk=feb_id)
    assert list(feb.lines.values_list("kind", "amount")) == [(LineKind.LATE_USAGE, -450)]
    with pytest.raises(InvoiceNegativeTotal):
        invoicing.finalize_invoice(feb)

    jan = _finalized(jan_id)
    closed = invoicing.close_billing_period(FEB)

    (note,) = _notes()
    assert closed.credit_notes == [note.number] and note.credit_of == jan
    assert closed.withdrawn == [feb_id] and not Invoice.objects.filter(pk=feb_id).exists()
    assert AuditEvent.objects.filter(action="invoice_draft_withdrawn").count() == 1
