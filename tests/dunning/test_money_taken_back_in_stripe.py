"""Money a paid invoice's card payment gave back outside EdgePlug (billing.taken_back): a
refund made in Stripe's dashboard, a chargeback lost. Each is booked once, by its Stripe id,
as a credit note recorded paid back by it: finance sees it, the vendor's payout counts it as
a refund, and a later credit note never gives the same money back again.

The defect this covers: ``charge.refunded`` of an invoice's charge was answered "no order"
and disputes "ignored"; nothing recorded the money gone back, the month's payout counted it
as sold, and a credit note finance issued later refunded the card a second time."""

from datetime import UTC, datetime

import pytest

from billing import invoicing, money_back, payments, taken_back
from billing.errors import InvoiceNotCreditable, NothingOwedBack
from billing.models import Invoice, InvoiceKind, MoneyToGiveBack, RefundedBy, WebhookEvent
from billing.payout_queries import vendor_payouts
from edgeplug.audit.models import AuditEvent
from tests.commerce.conftest import event, signed_webhook
from tests.dunning.conftest import GOOD, NEEDS_3DS, TOTAL, stripe_client
from tests.dunning.test_card_refunds_failing_later import card_refund_fails, told
from tests.dunning.test_credit_notes_pay_money_back import gone, refunded_of
from tests.dunning.test_credited_invoice_is_settled import FEE_CREDIT
from tests.dunning.test_invoice_payment_webhooks import authenticate
from tests.dunning.test_money_to_give_back_refunded_in_stripe import overpay

pytestmark = pytest.mark.django_db

FEB = datetime(2026, 2, 1, tzinfo=UTC)
LINES = 1200  # the invoice's lines before tax: 10.00 fee + 2 h x 1.00


def deliver(api, committed, event_id: str, kind: str, obj: dict) -> str:
    response = committed(signed_webhook, api, event(event_id, kind, obj))
    assert response.status_code == 200, response.content
    return WebhookEvent.objects.get(event_id=event_id).outcome


def refunded_in_dashboard(api, committed, invoice, event_id: str, amount=None) -> str:
    """Support refunds ``invoice``'s card payment in Stripe's dashboard (all, or
    ``amount``); Stripe tells EdgePlug by ``charge.refunded``. The webhook's outcome."""
    intent = invoice.payment_intent_id
    params = {"payment_intent": intent, **({"amount": amount} if amount else {})}
    stripe_client().v1.refunds.create(params=params)
    charge = payments._id(stripe_client().v1.payment_intents.retrieve(intent).latest_charge)
    obj = {"id": charge, "object": "charge", "payment_intent": intent}
    return deliver(api, committed, event_id, "charge.refunded", obj)


def notes_of(invoice) -> list[Invoice]:
    return list(Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE, credit_of=invoice))


def test_a_refund_of_a_paid_invoice_made_in_stripe_is_seen_by_finance(invoiced, committed, api):
    _, invoice = invoiced(card=GOOD)

    outcome = refunded_in_dashboard(api, committed, invoice, "evt_refunded")

    (note,) = notes_of(invoice)
    assert note.number in outcome
    assert note.total == -TOTAL
    assert note.refund_amount == TOTAL
    assert note.refunded_by == RefundedBy.CARD and note.refund_reference.startswith("re_")
    assert note.refund_failure == ""
    taken = AuditEvent.objects.get(action="invoice_money_taken_back")
    assert taken.details["reference"] == note.refund_reference
    assert taken.details["amount"] == TOTAL and taken.details["credit_note"] == note.number
    # The note went back in February: February's payout gives the lines back.
    (payout,) = [row.payout for row in vendor_payouts(FEB)]
    assert payout.refunds == LINES
    # No card refund of the note: Stripe's was the only one.
    assert refunded_of(invoice.payment_intent_id) == TOTAL


def test_a_refund_told_again_is_booked_once(invoiced, committed, api):
    _, invoice = invoiced(card=GOOD)
    refunded_in_dashboard(api, committed, invoice, "evt_refunded", amount=500)
    charge = payments._id(
        stripe_client().v1.payment_intents.retrieve(invoice.payment_intent_id).latest_charge
    )
    obj = {"id": charge, "object": "charge", "payment_intent": invoice.payment_intent_id}

    again = deliver(api, committed, "evt_refunded_again", "charge.refunded", obj)

    assert "booked already" in again
    assert len(notes_of(invoice)) == 1


def test_a_later_credit_note_gives_back_only_what_stripe_did_not(invoiced, committed, api):
    _, invoice = invoiced(card=GOOD)
    refunded_in_dashboard(api, committed, invoice, "evt_part", amount=500)
    (first,) = notes_of(invoice)
    assert first.refund_amount == 500 and first.refunded_at is not None

    later = committed(invoicing.issue_credit_note, invoice, reason="the rest")

    assert later.refund_amount == TOTAL - 500
    assert Invoice.objects.get(pk=later.pk).refunded_at is not None
    # Together the customer got back what the invoice took, not more.
    assert refunded_of(invoice.payment_intent_id) == TOTAL


def test_an_invoice_refunded_in_full_in_stripe_is_credited_no_more(invoiced, committed, api):
    _, invoice = invoiced(card=GOOD)
    refunded_in_dashboard(api, committed, invoice, "evt_refunded")

    with pytest.raises(InvoiceNotCreditable):
        invoicing.issue_credit_note(invoice, reason="goodwill")


def test_a_dispute_of_a_paid_invoice_is_seen_by_finance(invoiced, committed, api):
    _, invoice = invoiced(card=GOOD)
    dispute = {
        "id": "dp_1",
        "object": "dispute",
        "amount": TOTAL,
        "currency": "eur",
        "payment_intent": invoice.payment_intent_id,
        "reason": "fraudulent",
        "status": "needs_response",
    }

    deliver(api, committed, "evt_dispute", "charge.dispute.created", dispute)

    (opened,) = MoneyToGiveBack.objects.filter(action="charge_disputed")
    assert opened.details["dispute"] == "dp_1" and opened.details["amount"] == TOTAL
    assert notes_of(invoice) == []  # the money is still the vendor's until the bank decides

    lost = {**dispute, "status": "lost"}
    deliver(api, committed, "evt_dispute_lost", "charge.dispute.closed", lost)
    deliver(api, committed, "evt_dispute_lost_again", "charge.dispute.closed", lost)

    (note,) = notes_of(invoice)
    assert note.refund_amount == TOTAL and note.refund_reference == "dp_1"
    # Closed, it is no longer asked to be answered: its row is settled by the close.
    assert MoneyToGiveBack.objects.with_settlement().get(pk=opened.pk).settled_by == "dp_1"
    closed = AuditEvent.objects.get(action="charge_dispute_closed")
    assert closed.details["status"] == "lost"
    (payout,) = [row.payout for row in vendor_payouts(FEB)]
    assert payout.refunds == LINES
    # Stripe was not asked to refund what the bank took back already.
    assert refunded_of(invoice.payment_intent_id) == 0


def finance_settles_first(monkeypatch, source: str, reference: str) -> None:
    """Finance settles by hand, with ``reference``, each row a webhook settling by ``source``
    read open, before the webhook's lock on it is granted."""
    real = money_back.settle

    def finance_first(event, **kwargs):
        if kwargs.get("source") == source:
            real(MoneyToGiveBack.objects.get(pk=event.pk), reference=reference)
        return real(event, **kwargs)

    monkeypatch.setattr(money_back, "settle", finance_first)


def test_a_dispute_closing_as_finance_settles_its_row_keeps_finance_s_settlement(
    invoiced, committed, api, monkeypatch
):
    """Finance records the dispute answered (settles its row by hand) at the moment its close
    arrives: the close finds the row settled under its lock and leaves it so. The webhook
    succeeds (no rollback, no redelivery) and the row keeps finance's reference."""
    _, invoice = invoiced(card=GOOD)
    dispute = {"id": "dp_6", "amount": TOTAL, "payment_intent": invoice.payment_intent_id}
    opened = {**dispute, "status": "needs_response"}
    deliver(api, committed, "evt_open", "charge.dispute.created", opened)
    (row,) = MoneyToGiveBack.objects.filter(action="charge_disputed")
    finance_settles_first(monkeypatch, money_back.DISPUTE_CLOSED, "answered 6")

    outcome = deliver(
        api, committed, "evt_won", "charge.dispute.closed", {**dispute, "status": "won"}
    )

    assert "won" in outcome
    assert MoneyToGiveBack.objects.with_settlement().get(pk=row.pk).settled_by == "answered 6"
    (settled,) = AuditEvent.objects.filter(action=money_back.SETTLED)
    assert settled.details["source"] == money_back.BY_HAND
    assert AuditEvent.objects.get(action="charge_dispute_closed").details["status"] == "won"


def test_a_dispute_won_books_nothing(invoiced, committed, api):
    _, invoice = invoiced(card=GOOD)
    won = {"id": "dp_2", "amount": TOTAL, "payment_intent": invoice.payment_intent_id}

    deliver(api, committed, "evt_won", "charge.dispute.closed", {**won, "status": "won"})

    assert notes_of(invoice) == []
    assert AuditEvent.objects.get(action="charge_dispute_closed").details["status"] == "won"


@pytest.mark.parametrize("closed", ["won", "lost", "warning_closed", "prevented"])
def test_a_dispute_closed_is_not_listed_to_answer_even_told_open_late(
    invoiced, admin_session, committed, api, closed
):
    """Stripe's events come in any order, and an inquiry closes ``warning_closed``: a
    ``charge.dispute.created`` delivered after the same dispute's close does not reopen it,
    and finance is never asked to answer a dispute that is closed."""
    _, invoice = invoiced(card=GOOD)
    dispute = {"id": "dp_3", "amount": TOTAL, "payment_intent": invoice.payment_intent_id}

    deliver(api, committed, "evt_closed", "charge.dispute.closed", {**dispute, "status": closed})
    opened = {**dispute, "status": "needs_response"}
    late = deliver(api, committed, "evt_created_late", "charge.dispute.created", opened)

    assert not MoneyToGiveBack.objects.filter(action="charge_disputed").exists(), late
    assert "closed already" in late
    finance, _ = admin_session("finance")
    listed = finance.get("/admin/billing/moneytogiveback/", {"settled": "no"})
    assert listed.status_code == 200 and b"Answer the dispute" not in listed.content
    (told,) = AuditEvent.objects.filter(action="charge_dispute_closed")
    assert told.details["status"] == closed


def test_an_inquiry_escalated_to_a_chargeback_is_listed_to_answer_once(
    invoiced, admin_session, committed, api
):
    """An inquiry of an invoice's charge escalated by the bank (the same ``dp_…``, told by
    ``charge.dispute.funds_withdrawn`` and ``charge.dispute.updated``, ``needs_response``):
    finance is asked to answer the chargeback, once, and the inquiry's row is settled by the
    escalation; evidence sent (``under_review``) or a late inquiry status adds nothing."""
    _, invoice = invoiced(card=GOOD)
    dispute = {"id": "dp_7", "amount": TOTAL, "payment_intent": invoice.payment_intent_id}
    told = {
        event_id: deliver(api, committed, event_id, kind, {**dispute, "status": status})
        for event_id, kind, status in [
            ("evt_ask", "charge.dispute.created", "warning_needs_response"),
            ("evt_took", "charge.dispute.funds_withdrawn", "needs_response"),
            ("evt_up", "charge.dispute.updated", "needs_response"),
            ("evt_late", "charge.dispute.updated", "warning_under_review"),
            ("evt_sent", "charge.dispute.updated", "under_review"),
        ]
    }

    assert "needs_response" in told["evt_took"] and "told already" in told["evt_sent"]
    rows = MoneyToGiveBack.objects.with_settlement().filter(action="charge_disputed")
    assert sorted(rows.values_list("details__status", "settled_by")) == [
        ("needs_response", None),
        ("warning_needs_response", "dp_7"),
    ]
    finance, _ = admin_session("finance")
    listed = finance.get("/admin/billing/moneytogiveback/", {"settled": "no"})
    assert listed.content.count(b"Answer the dispute") == 1


def test_refunding_an_overpaid_invoice_s_excess_in_stripe_books_no_second_note(
    invoiced, admin_session, committed, api
):
    """*Money to give back* asks finance to refund the excess in Stripe's dashboard: that
    refund gives back what the invoice owed back already; it is not credited again."""
    finance, _ = admin_session("finance")
    invoice = overpay(invoiced, finance, committed)
    (row,) = MoneyToGiveBack.objects.filter(action="invoice_overpaid")
    (fee_note,) = notes_of(invoice)

    outcome = refunded_in_dashboard(api, committed, invoice, "evt_excess", amount=FEE_CREDIT)

    assert notes_of(invoice) == [fee_note], outcome
    settled_by = MoneyToGiveBack.objects.with_settlement().get(pk=row.pk).settled_by
    assert settled_by is not None and settled_by.startswith("re_")
    assert not MoneyToGiveBack.objects.filter(action=taken_back.PAID_BACK_TWICE).exists()
    taken = AuditEvent.objects.get(action="invoice_money_taken_back")
    assert taken.details["credit_note"] == "" and taken.details["beyond"] == 0
    # The rest of the lines are still the customer's to be given back, in full.
    rest = committed(invoicing.issue_credit_note, invoice, reason="the rest")
    assert rest.refund_amount == TOTAL - FEE_CREDIT
    assert refunded_of(invoice.payment_intent_id) == TOTAL


def test_a_dashboard_refund_as_finance_settles_the_excess_by_hand_is_booked_at_once(
    invoiced, admin_session, committed, api, monkeypatch
):
    """Finance records the excess given back by transfer at the moment support's dashboard
    refund of it arrives: the refund finds the excess settled under its lock and books what
    it gave back as it would have after (the webhook succeeds: no rollback, no redelivery),
    and the excess keeps finance's settlement."""
    finance, _ = admin_session("finance")
    invoice = overpay(invoiced, finance, committed)
    (row,) = MoneyToGiveBack.objects.filter(action="invoice_overpaid")
    finance_settles_first(monkeypatch, money_back.IN_DASHBOARD, "SEPA excess")

    outcome = refunded_in_dashboard(api, committed, invoice, "evt_excess", amount=FEE_CREDIT)

    assert "credited by" in outcome, outcome
    assert MoneyToGiveBack.objects.with_settlement().get(pk=row.pk).settled_by == "SEPA excess"
    (settled,) = AuditEvent.objects.filter(action=money_back.SETTLED)
    assert settled.details["source"] == money_back.BY_HAND


def test_a_refund_in_stripe_pays_back_a_note_still_owing_its_card_refund(invoiced, committed, api):
    """Support refunds the whole charge in Stripe's dashboard while a credit note still owes
    its card refund: the dashboard refund pays that note back; only the rest is booked."""
    _, invoice = invoiced(card=GOOD)
    fee = invoice.lines.get(kind="flat_fee")
    owing = invoicing.issue_credit_note(invoice, line_ids=[fee.pk], reason="fee waived")
    assert Invoice.objects.get(pk=owing.pk).owes_card_refund  # its refund task not run yet

    refunded_in_dashboard(api, committed, invoice, "evt_all")

    owing = Invoice.objects.get(pk=owing.pk)
    assert owing.refunded_at is not None and owing.refund_reference.startswith("re_")
    (booked,) = [note for note in notes_of(invoice) if note.pk != owing.pk]
    assert booked.refund_amount == TOTAL - FEE_CREDIT
    assert booked.refund_reference == owing.refund_reference
    assert not MoneyToGiveBack.objects.filter(action=taken_back.PAID_BACK_TWICE).exists()
    # Its card refund, run late, finds nothing owed: the customer got the charge back once.
    assert committed(money_back.refund_credit_note, owing.pk) == ""
    assert refunded_of(invoice.payment_intent_id) == TOTAL


@pytest.mark.parametrize("dispute_id", ["dp_4", "du_4"])  # Stripe gives disputes either
def test_a_chargeback_lost_pays_back_a_note_still_owing_its_card_refund(
    invoiced, committed, api, dispute_id
):
    """The bank takes the whole charge back while a credit note still owes its card refund:
    the chargeback gave the customer that note's money, so the note is paid back by it (no
    card refund, no transfer); only the rest is booked, and nothing is paid back twice."""
    _, invoice = invoiced(card=GOOD)
    fee = invoice.lines.get(kind="flat_fee")
    owing = invoicing.issue_credit_note(invoice, line_ids=[fee.pk], reason="fee")  # not run
    lost = {"id": dispute_id, "amount": TOTAL, "payment_intent": invoice.payment_intent_id}

    deliver(api, committed, "evt_lost", "charge.dispute.closed", {**lost, "status": "lost"})

    owing = Invoice.objects.get(pk=owing.pk)
    assert owing.refunded_at is not None and owing.refund_reference == dispute_id
    (booked,) = [note for note in notes_of(invoice) if note.pk != owing.pk]
    assert booked.refund_amount == TOTAL - FEE_CREDIT
    assert not MoneyToGiveBack.objects.filter(action=taken_back.PAID_BACK_TWICE).exists()
    taken = AuditEvent.objects.get(action="invoice_money_taken_back")
    assert taken.details["owed_already"] == FEE_CREDIT and taken.details["beyond"] == 0
    # Its card refund, run late, finds nothing owed; the beat job asks Stripe of no dp_.
    assert committed(money_back.refund_credit_note, owing.pk) == ""
    assert refunded_of(invoice.payment_intent_id) == 0
    assert money_back.recheck_card_refunds().errors == {}


def refused_by_stripe(invoice, committed, **kwargs) -> Invoice:
    """A credit note of ``invoice`` whose card refund Stripe refused for good (as it does for
    a disputed charge): finance is asked to pay it back by transfer."""
    intent = invoice.payment_intent_id
    gone(invoice)  # Stripe refuses the refund
    note = committed(invoicing.issue_credit_note, Invoice.objects.get(pk=invoice.pk), **kwargs)
    Invoice.objects.filter(pk=invoice.pk).update(payment_intent_id=intent)
    note = Invoice.objects.get(pk=note.pk)
    assert note.owes_money_back and note.refund_failure and not note.owes_card_refund
    return note


def test_a_chargeback_lost_pays_back_a_note_whose_card_refund_stripe_refused(
    invoiced, committed, api
):
    """A credit note is issued while the charge is under dispute: Stripe refuses its card
    refund (``charge_disputed``), so it asks finance for a transfer. Then the bank gives the
    customer the whole charge back: that paid the note back, so no transfer is asked for,
    only the rest is booked, and finance is not asked to recover anything."""
    _, invoice = invoiced(card=GOOD)
    dispute = {"id": "dp_5", "amount": TOTAL, "payment_intent": invoice.payment_intent_id}
    deliver(
        api,
        committed,
        "evt_open",
        "charge.dispute.created",
        {**dispute, "status": "needs_response"},
    )
    fee = invoice.lines.get(kind="flat_fee")
    refused = refused_by_stripe(invoice, committed, line_ids=[fee.pk], reason="fee")

    deliver(api, committed, "evt_lost", "charge.dispute.closed", {**dispute, "status": "lost"})

    refused = Invoice.objects.get(pk=refused.pk)
    assert not refused.owes_money_back and refused.refund_reference == "dp_5"
    (booked,) = [note for note in notes_of(invoice) if note.pk != refused.pk]
    assert booked.refund_amount == TOTAL - FEE_CREDIT
    assert not MoneyToGiveBack.objects.filter(action=taken_back.PAID_BACK_TWICE).exists()
    taken = AuditEvent.objects.get(action="invoice_money_taken_back")
    assert taken.details["owed_already"] == FEE_CREDIT and taken.details["beyond"] == 0
    with pytest.raises(NothingOwedBack) as paid:  # finance's transfer would pay it twice
        money_back.record_money_paid_back(refused, reference="SEPA back 1")
    # finance told to send one while the dispute was open may have sent it already
    assert "A transfer sent for it already paid it back twice: recover it" in paid.value.detail
    assert refunded_of(invoice.payment_intent_id) == 0


def test_a_refund_in_stripe_pays_back_a_note_whose_card_refund_stripe_refused(
    invoiced, committed, api
):
    """Stripe refused a note's card refund (the charge was under dispute, since won): finance,
    asked to pay it back, refunds the whole charge in Stripe's dashboard instead. That refund
    paid the note back: no transfer is asked for any more, nothing is recovered."""
    _, invoice = invoiced(card=GOOD)
    fee = invoice.lines.get(kind="flat_fee")
    refused = refused_by_stripe(invoice, committed, line_ids=[fee.pk], reason="fee")

    refunded_in_dashboard(api, committed, invoice, "evt_all")

    refused = Invoice.objects.get(pk=refused.pk)
    assert not refused.owes_money_back and refused.refund_reference.startswith("re_")
    (booked,) = [note for note in notes_of(invoice) if note.pk != refused.pk]
    assert booked.refund_amount == TOTAL - FEE_CREDIT
    assert not MoneyToGiveBack.objects.filter(action=taken_back.PAID_BACK_TWICE).exists()
    assert refunded_of(invoice.payment_intent_id) == TOTAL


def test_a_refund_in_stripe_that_fails_later_owes_its_money_again(invoiced, committed, api):
    """The dashboard refund was pending, then the card's bank failed it: the notes it paid
    back owe their money again, for finance to pay back by transfer."""
    _, invoice = invoiced(card=GOOD)
    fee = invoice.lines.get(kind="flat_fee")
    owing = invoicing.issue_credit_note(invoice, line_ids=[fee.pk], reason="fee waived")
    refunded_in_dashboard(api, committed, invoice, "evt_all")
    refund = Invoice.objects.get(pk=owing.pk).refund_reference
    card_refund_fails(refund)

    outcome = told(api, "evt_refund_failed", "refund.failed", refund)

    notes = notes_of(invoice)
    assert len(notes) == 2 and "no order" not in outcome
    for note in notes:
        assert note.owes_money_back and note.refund_failure, note.number
        assert not note.owes_card_refund  # finance pays it back by transfer
    failed = AuditEvent.objects.filter(action="credit_note_refund_failed")
    assert sorted(e.details["credit_note"] for e in failed) == sorted(n.number for n in notes)
    # Told once: the beat job's net and a second webhook change nothing.
    told(api, "evt_refund_failed_again", "refund.failed", refund)
    assert money_back.recheck_card_refunds().failed == {}
    assert AuditEvent.objects.filter(action="credit_note_refund_failed").count() == 2


def test_an_excess_refunded_in_stripe_that_fails_later_is_listed_again(
    invoiced, admin_session, committed, api
):
    finance, _ = admin_session("finance")
    invoice = overpay(invoiced, finance, committed)
    refunded_in_dashboard(api, committed, invoice, "evt_excess", amount=FEE_CREDIT)
    (row,) = MoneyToGiveBack.objects.filter(action="invoice_overpaid")
    refund = MoneyToGiveBack.objects.with_settlement().get(pk=row.pk).settled_by
    card_refund_fails(refund)

    told(api, "evt_refund_failed", "refund.failed", refund)

    (again,) = MoneyToGiveBack.objects.filter(action=money_back.REFUND_FAILED)
    assert again.details["event"] == row.pk and again.details["amount"] == FEE_CREDIT


def test_a_refund_told_before_the_payment_is_booked_once_the_invoice_is_paid(
    invoiced, committed, api
):
    """Stripe's events come in any order: ``charge.refunded`` before the success it refunds
    finds no invoice paid by that intent yet; the success then books the refund."""
    _, invoice = invoiced(card=NEEDS_3DS)
    intent = invoice.payment_intent_id
    authenticate(intent)
    refunded_in_dashboard(api, committed, invoice, "evt_refunded_first", amount=500)
    assert notes_of(invoice) == []

    deliver(api, committed, "evt_3ds_ok", "payment_intent.succeeded", {"id": intent})

    (note,) = notes_of(invoice)
    assert note.refund_amount == 500 and note.refund_reference.startswith("re_")
    assert Invoice.objects.get(pk=invoice.pk).status == "paid"
