"""Finalizing drafts: gapless yearly numbers (also under concurrent finalizes on PostgreSQL),
grace period for adjustments, the beat job, audit events."""

from datetime import UTC, datetime, timedelta

import pytest

from billing import invoicing, tasks
from billing.errors import BillingAccountMissing, InvalidAdjustment, InvoiceNotDraft
from billing.models import Invoice, InvoiceNumberSequence, InvoiceStatus, LineKind
from edgeplug.audit.models import AuditEvent
from edgeplug.errors import ReasonTooLong
from tests.concurrency import needs_row_locks, race
from tests.invoicing.conftest import FEB, JAN


def draft_for(customer, hours=2):
    ent = customer.metered()
    customer.ran(ent, JAN, hours)
    (pk,) = invoicing.close_billing_period(JAN).created
    return Invoice.objects.get(pk=pk)


def test_finalize_numbers_freezes_the_parties_and_opens_the_invoice(customer):
    customer.account(tax_rate="19.00")
    invoice = draft_for(customer)
    invoice = invoicing.finalize_invoice(invoice, now=datetime(2026, 2, 4, tzinfo=UTC))
    assert invoice.number == "EP-2026-000001"
    assert invoice.status == InvoiceStatus.OPEN
    assert invoice.subtotal == 1200 and invoice.tax == 228 and invoice.total == 1428
    assert invoice.account_snapshot["buyer"]["legal_name"] == "Acme Pumps GmbH"
    assert invoice.account_snapshot["seller"]["country"] == "DE"
    event = AuditEvent.objects.get(action="invoice_finalized")
    assert event.target == "invoice EP-2026-000001" and event.tenant == customer.tenant


def test_reverse_charge_has_no_tax(customer):
    customer.account(reverse_charge=True)
    invoice = invoicing.finalize_invoice(draft_for(customer))
    assert invoice.tax == 0 and invoice.total == invoice.subtotal
    assert invoice.account_snapshot["buyer"]["reverse_charge"] is True


def test_numbers_follow_each_other_and_restart_each_year(make_customer):
    numbers = []
    for year_end in (False, False, True):
        c = make_customer()
        c.account()
        when = datetime(2027 if year_end else 2026, 2, 4, tzinfo=UTC)
        numbers.append(invoicing.finalize_invoice(draft_for(c), now=when).number)
    assert numbers == ["EP-2026-000001", "EP-2026-000002", "EP-2027-000001"]


def test_no_billing_account_refuses_and_stays_a_draft(customer):
    invoice = draft_for(customer)
    with pytest.raises(BillingAccountMissing):
        invoicing.finalize_invoice(invoice)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.DRAFT and invoice.number is None
    assert not InvoiceNumberSequence.objects.filter(last__gt=0).exists()


def test_adjustments_only_on_drafts_and_well_formed(customer):
    customer.account()
    invoice = draft_for(customer)
    invoicing.add_adjustment_line(invoice, description="Setup", amount=250)
    invoice.refresh_from_db()
    assert invoice.subtotal == 1450
    with pytest.raises(InvalidAdjustment):
        invoicing.add_adjustment_line(invoice, description="", amount=5)
    with pytest.raises(InvalidAdjustment):
        invoicing.add_adjustment_line(invoice, description="x", amount=0)
    invoicing.finalize_invoice(invoice)
    with pytest.raises(InvoiceNotDraft):
        invoicing.add_adjustment_line(invoice, description="Late", amount=5)
    with pytest.raises(InvoiceNotDraft):
        invoicing.finalize_invoice(invoice)


def test_beat_finalizes_only_drafts_past_their_grace_period(make_customer, time_machine):
    ready, missing_account = make_customer(), make_customer()
    ready.account()
    first, second = draft_for(ready), draft_for(missing_account)
    time_machine.move_to(FEB + timedelta(days=2))
    assert tasks.finalize_due_invoices() == {"finalized": [], "refused": {}}
    time_machine.move_to(FEB + timedelta(days=3, minutes=1))
    assert tasks.finalize_due_invoices() == {
        "finalized": ["EP-2026-000001"],
        "refused": {str(second.pk): "billing_account_missing"},
    }
    first.refresh_from_db()
    assert first.status == InvoiceStatus.OPEN


@needs_row_locks
@pytest.mark.django_db(transaction=True)
def test_concurrent_finalizes_give_gapless_unique_numbers(make_customer):
    drafts = []
    for _ in range(8):
        c = make_customer()
        c.account()
        drafts.append(draft_for(c))
    numbers = [invoice.number for invoice in race(invoicing.finalize_invoice, drafts)]
    year = datetime.now(UTC).year
    assert sorted(numbers) == [f"EP-{year}-{n:06d}" for n in range(1, 9)]
    assert InvoiceNumberSequence.objects.get(series="EP", year=year).last == 8


def test_a_batch_finalize_issues_what_one_by_one_would_and_skips_refusals_without_a_gap(
    make_customer,
):
    first, no_account, third, alone = (make_customer() for _ in range(4))
    for customer in (first, alone):
        customer.account(tax_rate="19.00")
    third.account(reverse_charge=True)
    drafts = [draft_for(c, hours=h) for c, h in ((first, 2), (no_account, 3), (third, 12))]
    lone = draft_for(alone)
    invoicing.finalize_invoice(drafts[0])  # finalized already: refused in the batch
    now = datetime(2026, 2, 5, tzinfo=UTC)

    run = invoicing.finalize_invoices([d.pk for d in drafts] + [lone.pk], now=now)

    assert run.finalized == ["EP-2026-000002", "EP-2026-000003"]
    assert run.refused == {
        drafts[0].pk: InvoiceNotDraft.code,
        drafts[1].pk: BillingAccountMissing.code,
    }
    issued = Invoice.objects.get(pk=drafts[2].pk)
    assert issued.number == "EP-2026-000002" and issued.status == InvoiceStatus.OPEN
    assert (issued.subtotal, issued.tax, issued.total) == (1000 + 1000 + 100, 0, 2100)
    assert issued.account_snapshot["buyer"]["reverse_charge"] is True
    assert issued.finalized_at == now
    lone.refresh_from_db()
    assert (lone.number, lone.subtotal, lone.tax, lone.total) == ("EP-2026-000003", 1200, 228, 1428)
    assert Invoice.objects.get(pk=drafts[1].pk).status == InvoiceStatus.DRAFT
    assert InvoiceNumberSequence.objects.get(series="EP", year=2026).last == 3
    assert invoicing.finalize_invoice(draft_for_again(no_account)).number == "EP-2026-000004"
    assert AuditEvent.objects.filter(action="invoice_finalized").count() == 4


def draft_for_again(customer):
    customer.account()
    return Invoice.objects.get(tenant=customer.tenant, status=InvoiceStatus.DRAFT)


def test_every_event_of_an_invoice_carries_its_id_from_draft_to_credit_note(customer):
    """The audit log filtered on one invoice tells its whole story, whichever action wrote it."""
    customer.account()
    draft = draft_for(customer)
    customer.ran(customer.metered(), JAN + timedelta(days=9), 1)  # late rollups: a refresh
    assert invoicing.close_billing_period(JAN).updated == [draft.pk]
    invoicing.add_adjustment_line(draft, description="goodwill", amount=-100)
    issued = invoicing.finalize_invoice(draft)
    usage = issued.lines.filter(kind=LineKind.USAGE).first()
    invoicing.issue_credit_note(issued, line_ids=[usage.pk], reason="wrong plan")
    # Corrected once, it is corrected again by a credit note, not voided (nor voidable).
    invoicing.issue_credit_note(issued, reason="issued to the wrong entity")

    story = AuditEvent.objects.filter(details__invoice=draft.pk).order_by("id")
    assert [event.action for event in story] == [
        "invoice_drafted",
        "invoice_draft_refreshed",
        "invoice_adjusted",
        "invoice_finalized",
        "credit_note_issued",
        "credit_note_issued",
        "invoice_paid",  # credited in full while open: settled
    ]
    assert {event.tenant_id for event in story} == {customer.tenant.pk}
    targets = [event.target for event in story]
    assert targets[:3] == [f"invoice {draft.pk}"] * 3  # a draft has no number yet
    assert targets[3:] == [f"invoice {issued.number}"] * 4


def test_a_credit_note_reason_is_optional_but_never_cut(customer):
    customer.account()
    issued = invoicing.finalize_invoice(draft_for(customer))
    with pytest.raises(ReasonTooLong):
        invoicing.issue_credit_note(issued, reason="x" * 301)
    assert not Invoice.objects.filter(credit_of=issued).exists()
    note = invoicing.issue_credit_note(issued, reason="  ")
    assert note.credit_of_id == issued.pk
