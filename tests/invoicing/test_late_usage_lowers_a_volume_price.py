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
from billing.errors import InvoiceNegativeTotal, InvoiceNotCreditable
from billing.models import Invoice, InvoiceKind, InvoiceStatus, LineKind
from edgeplug.audit.models import AuditEvent
from tests.concurrency import in_thread, needs_row_locks, race, wait_for_blocked_backend
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
    assert f"given back by credit notes {note.number}" in out.getvalue()
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


def test_a_month_whose_orders_were_paid_at_checkout_is_judged_as_finalize_judges_it(
    customer, january
):
    """February: a 10.00 order paid at checkout and January's -4.50. Before tax it is 5.50,
    but it would ask 6.55 - 10.00: less than nothing, which finalize refuses
    (``adjustment_below_prepaid``). So the drop is a credit note and February finalizes."""
    customer.one_time(amount=1000, at=FEB + timedelta(days=3))

    closed = invoicing.close_billing_period(FEB)

    (note,) = _notes()
    assert closed.credit_notes == [note.number] and note.subtotal == -450
    feb = _finalized(Invoice.objects.get(kind=InvoiceKind.INVOICE, period_start=FEB).pk)
    assert list(feb.lines.values_list("kind", flat=True)) == [LineKind.ONE_TIME_ORDER]
    assert feb.amount_due == 190  # the order's VAT


def test_a_lower_price_gives_back_no_more_than_credit_notes_left_of_the_month(customer):
    """Finance credited January in full (a dispute); then its late hour arrives. Nothing is
    left to give back: the late line is 0.00 (its slices say why), the hour counts as billed,
    and nothing is below zero. With usage of its own, February does not carry -4.50 either
    (14.50 given back on 10.00 charged)."""
    customer.account()
    ent = customer.metered(terms=VOLUME)
    customer.ran(ent, JAN, 10)
    jan = _finalized(invoicing.close_billing_period(JAN).created[0])
    invoicing.issue_credit_note(jan, reason="Disputed")
    customer.ran(ent, JAN + timedelta(days=20), 1)
    customer.ran(ent, FEB, 10)

    feb = _finalized(invoicing.close_billing_period(FEB).created[0])

    late = feb.lines.get(kind=LineKind.LATE_USAGE)
    assert (late.amount, late.usage_seconds, late.breakdown["credited_before"]) == (0, 3600, 450)
    assert len(_notes()) == 1  # finance's
    (printed,) = [
        line
        for line in invoice_documents.invoice_document(feb).lines
        if line.description == late.description
    ]
    assert printed.breakdown[-1] == {
        "tier": "given back already",
        "quantity": "1",
        "unit_amount": "450",
        "amount": 450,
    }
    assert sum(part["amount"] for part in printed.breakdown) == 0
    # The tenant's document of it renders (its PDF embeds the Factur-X XML, checked).
    assert "given back already" in pdf_text(invoice_documents.invoice_pdf(feb))


def test_finance_crediting_a_month_whose_drop_a_later_month_carried_gives_back_the_rest(
    customer, january, admin_session
):
    """February carried January's lower price itself (-4.50 on its own invoice); finance then
    credits January in full. It gives back what January still holds, 5.50 of its 10.00 usage
    (the line's rest, as when the drop was a credit note), not 10.00: 14.50 given back on
    10.00 charged (found by a probe). The admin's form says 5.50 is left to credit."""
    ent, jan = january
    customer.ran(ent, FEB, 10)
    _finalized(invoicing.close_billing_period(FEB).created[0])  # carries -4.50

    usage = jan.lines.get(kind=LineKind.USAGE)
    assert invoicing.creditable_of([usage]) == {usage.pk: 550}
    client, _ = admin_session("finance")  # the form says so beside the line
    page = client.get(f"/admin/billing/invoice/{jan.pk}/change/").content.decode()
    assert "(10.00 EUR; 5.50 EUR left to credit: a later month's lower price" in page
    note = invoicing.issue_credit_note(jan, reason="Usage disputed")

    (line,) = note.lines.all()
    assert (line.credited_line, line.amount) == (usage, -550)
    assert (note.subtotal, note.total) == (-550, -655)
    with pytest.raises(InvoiceNotCreditable, match="A later month's lower price of their"):
        invoicing.issue_credit_note(jan, line_ids=[usage.pk])  # nothing is left of it


def test_finance_crediting_the_rest_of_a_partly_credited_line_writes_what_it_gives(january):
    _, jan = january
    invoicing.close_billing_period(FEB)  # the drop's note: 4.50 of January's usage line

    note = invoicing.issue_credit_note(jan, reason="Usage disputed")

    (line,) = note.lines.all()
    assert (line.quantity, line.unit_amount, line.amount) == (1, -550, -550)


@needs_row_locks
@pytest.mark.django_db(transaction=True)
def test_a_close_and_finance_crediting_the_month_at_once_give_it_back_once(customer, january):
    """Each locks January's invoice before what refers to it (before: the close locked the
    entitlement first and the two deadlocked, one aborted)."""
    _, jan = january

    def act(who):
        if who == "close":
            return invoicing.close_billing_period(FEB)
        return invoicing.issue_credit_note(Invoice.objects.get(pk=jan.pk), reason="Disputed")

    race(act, ["close", "finance"])

    usage = jan.lines.get(kind=LineKind.USAGE)
    assert invoicing.credited_so_far(usage) == 1000  # given back once, whichever went first
    below_zero = Invoice.objects.filter(kind=InvoiceKind.INVOICE, subtotal__lt=0)
    assert not below_zero.exists()


@needs_row_locks
@pytest.mark.django_db(transaction=True)
def test_the_close_that_loses_the_race_builds_the_month_again(customer, january, monkeypatch):
    """Both closes built February (the -4.50 line alone) before either gave it back; the
    other one gives it back meanwhile. This one finds the line gone and builds February
    again rather than store its stale -4.50 draft beside the note."""
    real = invoicing._credit_apart
    other = {"ran": False}

    def credit_apart(drafted, result):
        if not other["ran"]:  # this close has built its drafts: the other runs now, whole
            other["ran"] = True
            answers, errors = [], []
            in_thread(lambda: invoicing.close_billing_period(FEB), answers, errors).join()
            assert not errors and len(answers[0].credit_notes) == 1, errors
        return real(drafted, result)

    monkeypatch.setattr(invoicing, "_credit_apart", credit_apart)
    closed = invoicing.close_billing_period(FEB)

    assert (closed.created, closed.credit_notes) == ([], [])
    assert len(_notes()) == 1
    assert not Invoice.objects.filter(kind=InvoiceKind.INVOICE, period_start=FEB).exists()


@needs_row_locks
@pytest.mark.django_db(transaction=True)
def test_a_month_finance_finalizes_during_the_close_is_not_given_back_twice(
    customer, january, monkeypatch
):
    """February's draft is the -4.50 line alone. Just as the close is about to credit it,
    finance adds 5.00 and finalizes February, which would then carry the -4.50 itself. Before,
    the close issued its note all the same: 4.50 given back twice, the late hour billed twice.
    Now finance waits for the close (its draft is locked with the charging invoices), and
    the draft the close withdrew cannot be finalized."""
    with monkeypatch.context() as waiting:  # a first close stores the draft, gives nothing
        waiting.setattr(invoicing, "credit_price_drop", lambda *args: [])
        invoicing.close_billing_period(FEB)
    feb_id = Invoice.objects.get(kind=InvoiceKind.INVOICE, period_start=FEB).pk
    real = invoicing._charges_of
    calls, answers, errors, finance = [], [], [], []

    def finalize():
        feb = Invoice.objects.get(pk=feb_id)
        invoicing.add_adjustment_line(feb, description="goodwill", amount=500)
        return invoicing.finalize_invoice(feb)

    def charges_of(spec, line):
        calls.append(line)
        if len(calls) == 2:  # the month checked, about to issue the note
            finance.append(in_thread(finalize, answers, errors))
            wait_for_blocked_backend(or_finished=finance[0])
        return real(spec, line)

    monkeypatch.setattr(invoicing, "_charges_of", charges_of)
    closed = invoicing.close_billing_period(FEB)
    finance[0].join()

    given_by_notes = -sum(note.subtotal for note in _notes())
    february = Invoice.objects.filter(pk=feb_id, finalized_at__isnull=False).first()
    late = february.lines.filter(kind=LineKind.LATE_USAGE) if february else []
    carried = -sum(line.amount for line in late)
    assert given_by_notes + carried == 450  # given back once, one way or the other
    assert closed.credit_notes and errors  # the close gave it; finance found no draft
