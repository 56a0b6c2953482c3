"""Money a card payment of an invoice gave back outside EdgePlug, told by Stripe's webhooks:
a refund made in Stripe's dashboard (``charge.refunded``) or a chargeback the customer's bank
won (``charge.dispute.closed``, lost). Each is booked once, by its Stripe id, as a credit note
of the invoice recorded paid back by it (``invoicing.credit_money_taken_back``): finance sees
it among the invoice's credit notes, the vendors' payouts count its lines as refunds, and a
later credit note never pays the same money back again. A refund or chargeback first gives
back what the invoice owed back already (``money_back.owed_back_covered``): only the rest is a
new note. A
dispute opened is told to finance on *Money to give back* (``charge_disputed``), to answer in
Stripe. docs/billing.md, *Money taken back in Stripe*."""

from __future__ import annotations

from django.db import transaction

from billing import invoicing, money_back, payments
from billing.audit import record_invoice_event
from billing.models import Invoice, InvoiceKind, MoneyToGiveBack
from edgeplug.audit.services import recorded
from edgeplug.core.locking import locked
from marketplace import orders

TAKEN_BACK = "invoice_money_taken_back"
PAID_BACK_TWICE = "invoice_paid_back_twice"

# The metadata keys of refunds EdgePlug makes itself (a credit note's, *Refund in Stripe*'s,
# an order's): those are booked where they are made, never here.
MADE_BY_EDGEPLUG = frozenset({"credit_note", "money_to_give_back", "order"})


def _invoice_paid_by(payment_intent_id: str) -> Invoice | None:
    if not payment_intent_id:
        return None
    return (
        Invoice.objects.paid_by_card()
        .filter(kind=InvoiceKind.INVOICE, payment_intent_id=payment_intent_id)
        .first()
    )


def book_refunds_in_stripe(payment_intent_id: str) -> str | None:
    """A webhook said the charge of ``payment_intent_id`` was refunded: each refund of it
    Stripe made and EdgePlug did not (made in Stripe's dashboard) is booked on the invoice
    that PaymentIntent paid, once. None when it paid no invoice (an order's)."""
    invoice = _invoice_paid_by(payment_intent_id)
    if invoice is None:
        return None
    refunds = [
        refund
        for refund in reversed(payments.refunds_of(payment_intent_id))  # oldest first
        if refund.status in payments.REFUND_MADE and not MADE_BY_EDGEPLUG & set(refund.metadata)
    ]
    with transaction.atomic():
        held = locked(invoice, "tenant")
        booked = [_book(held, refund.id, refund.amount, how="refund") for refund in refunds]
    return f"invoice {invoice.pk}: " + ("; ".join(booked) or "no refund made in Stripe")


def record_dispute(obj: dict) -> str:
    """A webhook said a charge is disputed (``charge.dispute.created``, ``updated``,
    ``funds_withdrawn``) or its dispute closed (``charge.dispute.closed``): told open once
    as an inquiry and once as a chargeback, closed once, never open once closed
    (``payments.Dispute.told_already``). Of an invoice's charge: opened, finance is asked to
    answer it in Stripe (``charge_disputed`` on *Money to give back*); lost, the amount the
    bank took back is booked as a refund is (``_book``). Of an order's:
    ``orders.record_dispute``. Closed, either's row asking to answer it is settled by the
    close; escalated, the inquiry's (``_answered``)."""
    dispute = payments.dispute_of(obj)
    invoice = _invoice_paid_by(dispute.payment_intent)
    if invoice is None:
        order = orders.record_dispute(dispute)
        said = f"order {order.pk}: dispute {dispute.status}" if order else "no payment"
    else:
        said = f"invoice {invoice.pk}: " + _invoice_dispute(invoice, dispute)
    _answered(dispute)
    return said


def _invoice_dispute(invoice: Invoice, dispute: payments.Dispute) -> str:
    with transaction.atomic():
        held = locked(invoice, "tenant")
        if told := dispute.told_already():
            return told
        record_invoice_event(dispute.action, held, **dispute.details())
        dispute.keep()
        if dispute.lost:
            return _book(held, dispute.id, dispute.amount, how="chargeback")
    return f"dispute {dispute.id} {dispute.status}"


def _answered(dispute: payments.Dispute) -> None:
    """A dispute closed needs no answer any more, and an inquiry escalated is answered as the
    chargeback it became: its ``charge_disputed`` rows on *Money to give back* still open (all
    once it closed, ``source`` ``dispute_closed``; the inquiry's once it is a chargeback,
    ``dispute_escalated``) are settled by it (``money_back.settle``: the ``dp_…``), so finance
    has one row to answer, or none. A row finance settled meanwhile (found settled under its
    lock: ``settled_already``) keeps finance's settlement, and the webhook still succeeds."""
    if not dispute.id or dispute.inquiry:
        return
    rows = MoneyToGiveBack.objects.with_settlement().filter(
        action=payments.DISPUTED, details__dispute=dispute.id, settled_by__isnull=True
    )
    source = money_back.DISPUTE_CLOSED
    if dispute.action == payments.DISPUTED:
        rows = rows.filter(details__status__startswith=payments.INQUIRY_PREFIX)
        source = money_back.DISPUTE_ESCALATED
    for row in rows:
        money_back.settle_if_open(row, reference=dispute.id, source=source)


def _book(invoice: Invoice, reference: str, amount: int, *, how: str) -> str:
    """Book ``amount`` the locked ``invoice``'s payment gave back by ``reference`` (a Stripe
    refund or dispute), once: its credit note recorded paid back by it, audited
    ``invoice_money_taken_back``. What Stripe gave back beyond what the invoice still held
    (its notes paid it back already, by transfer) is paid back twice: finance is told to
    recover it (``invoice_paid_back_twice`` on *Money to give back*)."""
    if recorded(TAKEN_BACK, reference=reference):
        return f"{reference} booked already"
    what = "Refunded in Stripe" if how == "refund" else "Chargeback"
    source = money_back.IN_DASHBOARD if how == "refund" else money_back.CHARGEBACK
    left = money_back.owed_back_covered(invoice, reference, amount, source=source)
    note = None
    if left > 0:
        note = invoicing.credit_money_taken_back(invoice, left, reason=f"{what} ({reference})")
    if note is not None and note.refund_amount > 0:
        money_back.record_given_back_in_stripe(note, reference)
    given = note.refund_amount if note is not None else 0
    record_invoice_event(
        TAKEN_BACK,
        invoice,
        reference=reference,
        source=how,
        amount=amount,
        currency=invoice.currency,
        credit_note=note.number if note is not None else "",
        owed_already=amount - left,
        beyond=left - given,
    )
    if left > given:
        record_invoice_event(
            PAID_BACK_TWICE,
            invoice,
            reference=reference,
            payment_intent=invoice.payment_intent_id,
            amount=left - given,
            currency=invoice.currency,
        )
    if note is not None:
        return f"{how} {reference} credited by {note.number}"
    return f"{how} {reference}" + (" gave back what was owed already" if left < amount else "")
