"""Money a credit note gives back. A credit note of an unpaid invoice lowers what it asks
(``collection.apply_credit``); one of a **paid** invoice is money owed back to the tenant:
``refund_amount`` on the note, set when it is issued and never changed.

- Paid by card (``Invoice.intent_that_paid``): refunded on that PaymentIntent, for that
  amount, once the note is committed (``billing.tasks.refund_credit_note``); a refund that
  failed (the processor down) is made again by the beat job ``retry_credit_note_refunds``.
  Each refund carries the note's number in its metadata and is looked for before it is
  made, so a retry whose first answer was lost never refunds twice, even after its
  idempotency key expired.
- Paid otherwise (a transfer): owed back by transfer; audited ``credit_note_owed_back`` and
  listed in the admin until finance records the transfer's reference
  (``record_money_paid_back``).

Either way the note keeps when the money went back (``refunded_at``) and how
(``refund_reference``: the Stripe refund, or finance's reference); audit
``credit_note_refunded``.

A card refund Stripe accepted can still fail later (the card was closed meanwhile): its
webhook (``sync_refund``) takes the note back to owing, with why (``refund_failure``, audited
``credit_note_refund_failed``), for finance to pay back by transfer; an order's refund that
failed so is audited ``order_refund_failed``, and one in part made in Stripe's dashboard of a
completed order is counted back (``orders.record_failed_refund``).

*Money to give back* (``MoneyToGiveBack``): finance records each settled (``settle``), or has
EdgePlug refund a card payment's in Stripe and record it so (``refund_in_stripe``)."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import reduce
from operator import or_

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from billing import collection, payments
from billing.audit import record_invoice_event
from billing.charge_minimums import chargeable
from billing.errors import (
    NotACardPayment,
    NothingOwedBack,
    PaymentProcessorError,
    RefundByCard,
    RefundedToCard,
    SettledAlready,
)
from billing.models import (
    REFUND_FAILED,
    SETTLED,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    MoneyToGiveBack,
    RefundedBy,
)
from billing.queueing import send_after_commit
from edgeplug.audit.models import AuditEvent
from edgeplug.audit.services import record_event, recorded
from edgeplug.core.columns import clipped
from edgeplug.core.locking import lock_rows, locked, stamp_once
from edgeplug.errors import DomainError
from marketplace import orders
from marketplace.models import GivenBackSource, Order, OrderStatus

logger = logging.getLogger(__name__)

REFUND_TASK_GRACE = timedelta(hours=4)
CARD, TRANSFER = RefundedBy.CARD, RefundedBy.TRANSFER


def held(invoice: Invoice) -> int:
    """What the ``invoice`` still holds of the money it took: nothing unless it is paid, else
    its amount due (its card charge or transfer, nothing when credit notes settled it) less
    what its credit notes pay back (their ``refund_amount``)."""
    if invoice.status != InvoiceStatus.PAID:
        return 0
    before = invoice.credit_notes.aggregate(paid_back=Sum("refund_amount"))["paid_back"] or 0
    return invoice.amount_due - before


def owed(invoice: Invoice, credit: int, *, last: bool, also_paid_back: int = 0) -> int:
    """What a credit note of the locked ``invoice`` giving back ``credit`` (what it credits,
    tax included, less the lines paid before the invoice, whose own refund returned that
    money) pays back in money: nothing unless the invoice is paid, and never more than the
    invoice itself took (its amount due: its card charge or transfer, nothing when credit
    notes settled it) less what earlier notes pay back (``held``; and ``also_paid_back``:
    what notes not issued yet before it would, for ``invoicing.refund_credits``' preview).

    A card refund takes what a charge takes: in a three-decimal currency a multiple of 10
    minor units (``charge_minimums.chargeable``, rounded down). The note that credits the
    ``last`` of the invoice's lines pays back all that is left, so the notes together give
    back exactly what the invoice took, whatever each note's VAT rounding left over."""
    if invoice.status != InvoiceStatus.PAID:
        return 0
    left = held(invoice) - also_paid_back
    if not last and invoice.intent_that_paid:
        credit = chargeable(credit, invoice.currency)
    return max(0, left if last else min(credit, left))


def owed_back_covered(invoice: Invoice, reference: str, amount: int, *, source: str) -> int:
    """``amount`` the card payment of the locked, paid ``invoice`` gave back outside EdgePlug,
    by ``reference``: a refund made in Stripe's dashboard (``source`` ``IN_DASHBOARD``) or a
    chargeback the bank won (``CHARGEBACK``, its ``dp_…``). Either way the customer has that
    money, so what the invoice owes back already is given back by it first, each part whole,
    in turn: its overpaid excess not settled yet (*Money to give back*'s ``invoice_overpaid``,
    settled by ``reference``, ``source``), then its credit notes still owing money back,
    oldest first: those owing their card refund, and those whose card refund Stripe refused or
    failed (``refund_failure``, left to a transfer), all recorded paid back by ``reference``,
    so neither a card refund nor a transfer is made for them. Returns what is left of
    ``amount``: money the invoice did not owe back yet, for the caller to book
    (``billing.taken_back``). In the invoice's transaction."""
    left = amount
    excess = (
        MoneyToGiveBack.objects.with_settlement()
        .filter(
            action="invoice_overpaid",
            details__invoice=invoice.pk,
            details__payment_intent=invoice.payment_intent_id,
            settled_by__isnull=True,
        )
        .order_by("pk")
    )
    for row in excess:
        given = row.amount_to_give_back or 0
        if 0 < given <= left and settle_if_open(row, reference=reference, source=source):
            left -= given
    # Every note still owing, its card refund refused or failed ones too (asking finance for a
    # transfer): the customer has that money now. Locked, so a transfer finance records
    # meanwhile is either seen here or waits and is refused ("paid back already").
    owing = lock_rows(Invoice.objects.owing_money_back().filter(credit_of=invoice))
    for note in owing.order_by("pk"):
        if note.refund_amount <= left:
            _mark_paid_back(note, reference, how=CARD)
            left -= note.refund_amount
    return left


def pay_back(invoice: Invoice, note: Invoice, *, actor=None, request=None) -> None:
    """The just-issued ``note`` of ``invoice`` owes money back: queue its card refund for
    after the commit, or tell finance it is owed by transfer. In the note's transaction."""
    if not note.owes_money_back:
        return
    if note.owes_card_refund:
        send_after_commit("billing.tasks.refund_credit_note", note.pk)
        return
    _audit(
        "credit_note_owed_back",
        note,
        payment_reference=invoice.payment_reference,
        actor=actor,
        request=request,
    )


def _audit(action: str, note: Invoice, *, actor=None, request=None, **details) -> None:
    """An audit event of the note's money back, on its invoice: the note, what it gives back
    and in which currency, then ``details``."""
    record_invoice_event(
        action,
        note.credit_of,
        credit_note=note.number,
        amount=note.refund_amount,
        currency=note.currency,
        **details,
        actor=actor,
        request=request,
    )


def refund_credit_note(note_id: int) -> str:
    """Refund what the credit note pays back on the card payment of its invoice; returns the
    Stripe refund's id, or "" when there is nothing to refund (paid back already, nothing
    owed, refused for good before, or the invoice was not paid by card). Stripe unreachable
    raises ``PaymentProcessorError`` and leaves the note owing: the task retries, then the
    beat job. Stripe refusing the refund itself (a disputed charge, one refunded in its
    dashboard) is final: the note keeps why (``refund_failure``, audited
    ``credit_note_refund_refused``), is not tried again, and finance pays it back by
    transfer."""
    note = Invoice.objects.select_related("credit_of", "tenant").get(pk=note_id)
    if not note.owes_card_refund:
        return ""
    intent = note.credit_of.intent_that_paid
    marker = {"credit_note": note.number}
    try:
        refund = payments.refund_made(intent, metadata=marker) or payments.refund(
            intent,
            amount=note.refund_amount,
            metadata={**marker, "invoice": note.credit_of.number},
            idempotency_key=payments.idempotency_key("refund-credit-note", note),
        )
    except PaymentProcessorError as exc:
        if not exc.key_spent:
            raise
        _refused(note, exc.detail.removesuffix(" Try again later."))  # it is final
        return ""
    _mark_paid_back(note, refund, how=CARD)
    return refund


def sync_refund(refund_id: str) -> str:
    """A webhook said a refund changed (``refund.failed``, ``refund.updated``,
    ``charge.refund.updated``): re-fetch it and, when it gave nothing back after Stripe
    accepted it (``failed``, or ``canceled``: not in ``payments.REFUND_MADE``), say so where it
    was counted. A credit note's (its number in the refund's metadata): ``_card_refund_failed``;
    a refunded order's stays refunded (its entitlement ended as asked) and finance is told the
    money did not go back; a completed order's, one in part made in Stripe's dashboard, is
    counted back (both ``orders.record_failed_refund``). Returns what happened."""
    return _apply_refund(payments.refund_state(refund_id))


def _apply_refund(refund: payments.RefundState) -> str:
    """``sync_refund`` of a refund as Stripe has it now."""
    if refund.status in payments.REFUND_MADE:
        return f"refund {refund.status}"
    if number := refund.metadata.get("credit_note"):
        return _card_refund_failed(number, refund)
    if event_id := refund.metadata.get("money_to_give_back"):
        return _given_back_refund_failed(event_id, refund)
    if counted := _dashboard_refund_failed(refund):
        return counted
    order = orders.record_failed_refund(refund)
    return f"order {order.pk} refund {refund.status}" if order else "no order"


def _dashboard_refund_failed(refund: payments.RefundState) -> str:
    """A refund made in Stripe's dashboard (no EdgePlug metadata) that an invoice's money back
    counted gave nothing back: each credit note it paid back (its ``refund_reference``: booked
    by ``billing.taken_back``, or covered by ``owed_back_covered``) owes its money again
    (``_card_refund_failed``), and each overpaid excess it settled is listed again
    (``_given_back_refund_failed``). "" when it counted nowhere (an order's)."""
    notes = Invoice.objects.filter(refunded_by=CARD, refund_reference=refund.id)
    settled = AuditEvent.objects.filter(
        action=SETTLED, details__reference=refund.id, details__source=IN_DASHBOARD
    )
    told = [
        _card_refund_failed(number, refund) for number in notes.values_list("number", flat=True)
    ]
    told += [
        _given_back_refund_failed(event, refund)
        for event in settled.values_list("details__event", flat=True)
    ]
    return "; ".join(told)


def _given_back_refund_failed(event_id: str, refund: payments.RefundState) -> str:
    """A refund *Refund in Stripe* made (``refund_in_stripe``) failed after Stripe accepted
    it (the card was closed meanwhile): the money did not go back, so finance is told to give
    it back another way, as a new row of *Money to give back* (``money_back_refund_failed``:
    the first row's event, the refund, its amount and why), once per refund. The first row
    stays settled: it records what was done then."""
    with transaction.atomic():
        # The refund's other events (and the beat job) wait here, then find it told.
        row = MoneyToGiveBack.objects.select_for_update().filter(pk=event_id).first()
        if row is None:
            return "no money to give back"
        if recorded(REFUND_FAILED, refund=refund.id):
            return f"money to give back {row.pk}: refund failure told already"
        logger.warning("money to give back %s: Stripe refund %s failed", row.pk, refund.id)
        record_event(
            REFUND_FAILED,
            tenant=row.tenant,
            target=row.target,
            details={
                "event": row.pk,
                "refund": refund.id,
                "payment_intent": refund.payment_intent,
                "amount": refund.amount,
                "currency": (row.details or {}).get("currency"),
                "failure_reason": refund.failure_reason or refund.status,
            },
        )
    return f"money to give back {row.pk}: refund {refund.status}"


def _card_refund_failed(number: str, refund: payments.RefundState) -> str:
    """The credit note ``number``'s card refund gave nothing back; under the note's lock, told
    once per refund (``credit_note_refund_failed``):

    - recorded as its payback: the note owes its money again (``refunded_at``,
      ``refunded_by``, ``refund_reference`` emptied);
    - not recorded yet (its answer lost): the note keeps owing, never recorded as paid back
      by this refund later (a retry under its idempotency key would be answered with its first
      success);
    - either way ``refund_failure`` says why: the card is not refunded again, finance pays it
      back by transfer;
    - crossed with a transfer finance recorded (``credit_note_paid_back_twice``): the
      transfer stands and the note with it; the event tells finance it was paid back once."""
    reason = refund.failure_reason or refund.status
    why = (
        f"Stripe could not make card refund {refund.id} after accepting it ({reason}): pay "
        "it back by transfer."
    )
    with transaction.atomic():
        note = Invoice.objects.filter(number=number, kind=InvoiceKind.CREDIT_NOTE).first()
        row = locked(note, "credit_of") if note else None
        if row is None:
            return f"no credit note {number}"
        # Per note: a dashboard refund may have paid back several (``owed_back_covered``).
        if recorded("credit_note_refund_failed", refund=refund.id, credit_note=number):
            return f"credit note {number}: refund {refund.id} failed, told already"
        crossed = row.refunded_at is not None and row.refund_reference != refund.id
        if not crossed:
            _owe_again(row, why)
        _audit(
            "credit_note_refund_failed",
            row,
            refund=refund.id,
            failure_reason=reason,
            why=f"paid back once, by {row.refund_reference}" if crossed else why,
        )
    if crossed:
        return f"credit note {number} paid back once, by {row.refund_reference}"
    return f"credit note {number} owes its money back again"


def _owe_again(row: Invoice, why: str) -> None:
    """The locked note's card refund gave nothing back: it owes its money again, to be paid
    back by transfer (``why``), whatever was recorded of that refund."""
    row.refunded_at, row.refunded_by, row.refund_reference = None, "", ""
    row.refund_failure = why
    row.save(
        update_fields=[
            "refunded_at",
            "refunded_by",
            "refund_reference",
            "refund_failure",
            "updated_at",
        ]
    )
    logger.warning("credit note %s: %s", row.number, why)


def _refused(note: Invoice, why: str) -> None:
    with transaction.atomic():
        row = locked(note)
        if row.refunded_at is not None or row.refund_failure:
            return
        row.refund_failure = clipped(Invoice, "refund_failure", why)
        row.save(update_fields=["refund_failure", "updated_at"])
        logger.warning("credit note %s: its card refund was refused: %s", row.number, why)
        _audit("credit_note_refund_refused", row, why=row.refund_failure)


@dataclass
class RefundRun:
    """What ``retry_credit_note_refunds`` did: note number -> the Stripe refund, or -> why it
    failed again."""

    refunded: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def retry_credit_note_refunds(now: datetime | None = None) -> RefundRun:
    """The beat job's net: every credit note still owing a card refund (its task gave up, or
    was never queued) is refunded now; one that fails again stays for the next run."""
    run = RefundRun()
    owing = Invoice.objects.owing_card_refunds().filter(
        # Its own task's retries are spent by then (``billing.tasks._PAYMENT_RETRIES``).
        finalized_at__lte=(now or timezone.now()) - REFUND_TASK_GRACE,
    )
    for note_id, number in owing.order_by("pk").values_list("pk", "number"):
        try:
            run.refunded[number] = refund_credit_note(note_id) or "nothing to refund"
        except DomainError as exc:
            logger.warning("credit note %s: refund failed again: %s", number, exc.detail)
            run.errors[number] = exc.detail
    return run


# How long after a card refund was made its failure is still looked for (Stripe fails a
# refund the card cannot take back within days; a month leaves room).
REFUND_WATCH = timedelta(days=30)

# How money to give back was settled (``money_to_give_back_settled``'s ``source``): recorded by
# finance after giving it back outside EdgePlug, or refunded in Stripe by EdgePlug.
BY_HAND, REFUNDED_IN_STRIPE = "by_hand", "refunded_in_stripe"
# Settled by a refund made in Stripe's dashboard, seen by its webhook (``owed_back_covered``).
IN_DASHBOARD = "refunded_in_dashboard"
# Settled by a chargeback the bank won, seen by its webhook (``owed_back_covered``): no refund
# of ours to ask Stripe about again.
CHARGEBACK = "chargeback"
# A dispute's ``charge_disputed`` row settled by its close (``billing.taken_back``): no answer
# is due any more.
DISPUTE_CLOSED = "dispute_closed"
# An inquiry's ``charge_disputed`` row settled by its escalation to a chargeback, which has its
# own row to answer (``billing.taken_back``).
DISPUTE_ESCALATED = "dispute_escalated"


@dataclass
class RefundCheck:
    """What ``recheck_card_refunds`` did: a credit note's number, or ``order N``, -> what
    ``sync_refund`` said, for each refund newly found failed; -> why, for each the processor
    failed on."""

    failed: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def recheck_card_refunds(now: datetime | None = None) -> RefundCheck:
    """The beat job's net for a lost ``refund.failed`` webhook: each credit note refunded to
    the card in the last ``REFUND_WATCH``, each order refunded then (by finance, or in
    Stripe's dashboard) or given back in part then (refunded in Stripe's dashboard) and each
    refund *Refund in Stripe* made then, has its refunds asked for again; one that failed is
    handled as the webhook would have been (``sync_refund``; an order's and a
    money-to-give-back's are told once). A note paid back by a chargeback
    is not asked about (its ``dp_…`` is no refund: ``_paid_back_by_chargeback``). A
    processor error on one leaves it for the next run, and the others are still asked for."""
    run = RefundCheck()
    if not payments.configured():
        return run
    since = (now or timezone.now()) - REFUND_WATCH
    notes = (
        Invoice.objects.filter(refunded_by=CARD, refunded_at__gte=since)
        .exclude(refund_reference="")
        .exclude(_paid_back_by_chargeback())
    )
    for number, refund_id in notes.order_by("pk").values_list("number", "refund_reference"):
        with _asked(run, number):
            refund = payments.refund_state(refund_id)
            if refund.status not in payments.REFUND_MADE:
                run.failed[number] = _apply_refund(refund)
    refunded = Q(status=OrderStatus.REFUNDED, refunded_at__gte=since)
    in_part = Q(
        status=OrderStatus.COMPLETED,
        given_back_in_part__source=GivenBackSource.REFUND,
        given_back_in_part__given_at__gte=since,
    )
    watched = Order.objects.filter(refunded | in_part).exclude(payment_intent_id="").distinct()
    fields = (
        "pk",
        "payment_intent_id",
        "amount",
        "status",
        "lost_in_disputes",
        "refunded_in_stripe",
    )
    for order in watched.order_by("pk").only(*fields):
        with _asked(run, f"order {order.pk}"):
            refunds = payments.refunds_of(order.payment_intent_id)
            if orders.failure_moot(order, refunds):
                continue  # the money went back, or nothing is counted to count back
            told = [
                _apply_refund(refund)
                for refund in refunds
                if refund.status not in payments.REFUND_MADE
                and not orders.refund_failure_told(refund.id)
            ]
            if told:
                run.failed[f"order {order.pk}"] = "; ".join(told)
    made_here = AuditEvent.objects.filter(
        action=SETTLED,
        details__source__in=[REFUNDED_IN_STRIPE, IN_DASHBOARD],
        created_at__gte=since,
    )
    for event, refund_id in made_here.order_by("pk").values_list(
        "details__event", "details__reference"
    ):
        with _asked(run, f"money to give back {event}"):
            refund = payments.refund_state(refund_id)
            if refund.status not in payments.REFUND_MADE and not recorded(
                REFUND_FAILED, refund=refund.id
            ):
                run.failed[f"money to give back {event}"] = _apply_refund(refund)
    return run


# The ids Stripe gives a dispute: ``dp_…``, and ``du_…`` for some.
DISPUTE_ID_PREFIXES = ("dp_", "du_")


def _paid_back_by_chargeback() -> Q:
    """Credit notes paid back by a chargeback the bank won (``owed_back_covered``,
    ``billing.taken_back``), from the note's own data: its ``refund_reference`` is the
    dispute's id. A chargeback is no refund: nothing of it can fail later."""
    return reduce(or_, (Q(refund_reference__startswith=p) for p in DISPUTE_ID_PREFIXES))


@contextmanager
def _asked(run: RefundCheck, what: str):
    try:
        yield
    except DomainError as exc:
        run.errors[what] = exc.detail


def record_money_paid_back(note: Invoice, *, reference: str, actor=None, request=None) -> Invoice:
    """Finance paid back what the credit note owes outside Stripe (a transfer) and records its
    reference. Refused (``nothing_owed_back``) for anything but a credit note still owing;
    and for a note of a card-paid invoice whose card refund Stripe made after all (its
    answer lost): that refund is recorded instead, and finance is told to send no transfer
    (``refunded_to_card``). Stripe is asked first, so while it cannot answer such a note is
    refused (``payment_processor_error``): a transfer then could pay it back twice."""
    reference = collection.checked_reference(reference)
    made = _card_refund_made(note)
    with transaction.atomic():
        held = locked(note, "credit_of")
        if held.refund_amount <= 0:
            raise NothingOwedBack("It owes no money back.")
        if held.refunded_at is not None:
            said = f"It was paid back already ({held.refund_reference})."
            if held.refunded_by == CARD and held.refund_failure:
                # Finance was asked for a transfer (its card refund refused or failed) until a
                # refund or chargeback made outside EdgePlug paid it back (owed_back_covered).
                said += (
                    " A transfer sent for it already paid it back twice: recover it from the"
                    " customer."
                )
            raise NothingOwedBack(said)
        if held.refunds_to_card and not made:
            raise RefundByCard(
                f"Its money goes back on the card that paid {held.credit_of.number}: the "
                "refund is made for you, and tried again hourly while Stripe cannot be "
                "reached. Send a transfer only once Stripe refused it for good (the note then "
                "says why)."
            )
        if not made:
            return _mark_paid_back(held, reference, how=TRANSFER, actor=actor, request=request)
        _mark_paid_back(held, made, how=CARD)
    raise RefundedToCard(
        f"Its card refund {made} was made after all, and is recorded now: send no transfer."
    )


def _card_refund_made(note: Invoice) -> str | None:
    """The card refund Stripe holds for ``note`` (of a card-paid invoice, still owing), if
    one was made; None for any other note."""
    row = Invoice.objects.select_related("credit_of").get(pk=note.pk)
    intent = row.credit_of.intent_that_paid if row.credit_of_id else ""
    if not intent or not row.owes_money_back:
        return None
    try:
        return payments.refund_made(intent, metadata={"credit_note": row.number})
    except PaymentProcessorError as exc:
        if exc.key_spent:  # Stripe refused the question itself: no refund of it was made
            return None
        raise


def record_given_back_in_stripe(note: Invoice, reference: str) -> Invoice:
    """The just-issued ``note`` books money its invoice's card payment gave back outside
    EdgePlug (``billing.taken_back``): recorded paid back by that refund or chargeback
    (``reference``), so no card refund is made for it. In the note's transaction."""
    return _mark_paid_back(note, reference, how=CARD)


def _mark_paid_back(note: Invoice, reference: str, *, how: str, actor=None, request=None):
    """Record once that the note's money went back (``reference``, ``how``: by card or by
    transfer), audited on its invoice. A card refund made for a note already recorded paid
    back (finance's transfer recorded while the refund was on its way) is audited
    ``credit_note_paid_back_twice``, for finance to recover one of them."""

    def audit(row: Invoice) -> None:
        _audit(
            "credit_note_refunded",
            row,
            source=how,
            reference=reference,
            actor=actor,
            request=request,
        )

    with transaction.atomic():
        row = stamp_once(
            note, "refunded_at", then=audit, refund_reference=reference, refunded_by=how
        )
        if row.refund_reference != reference:
            logger.warning("credit note %s paid back twice: %s", row.number, reference)
            _audit(
                "credit_note_paid_back_twice",
                row,
                recorded=row.refund_reference,
                also=reference,
            )
        return row


def settle(
    event: MoneyToGiveBack, *, reference: str, source: str = BY_HAND, actor=None, request=None
) -> MoneyToGiveBack:
    """Finance gave back (or recovered) the money ``event`` asked for, outside EdgePlug (a
    Stripe refund made in its dashboard, a transfer) and records it with its reference:
    audited ``money_to_give_back_settled`` (the event, its action, amount and currency, the
    reference, ``source``: ``by_hand``, or ``refunded_in_stripe`` from ``refund_in_stripe``)
    on the event's tenant and target, once: a second time is refused (``settled_already``,
    naming the first reference). Under the event's row lock, so two finance staff settling
    it at once record it once."""
    reference = collection.checked_reference(reference)
    with transaction.atomic():
        # The audit log's rows are never updated, only locked here; then read in a statement
        # of its own: the locking statement's subquery of settlements reads from before it
        # waited, and would miss one committed by the transaction it waited for.
        MoneyToGiveBack.objects.select_for_update().filter(pk=event.pk).get()
        row = MoneyToGiveBack.objects.with_settlement().get(pk=event.pk)
        if refused := _settled_refusal(row):
            raise refused
        details = row.details or {}
        record_event(
            SETTLED,
            actor=actor,
            request=request,
            tenant=row.tenant,
            target=row.target,
            details={
                "event": row.pk,
                "action": row.action,
                "amount": details.get(row.amount_key),
                "currency": details.get("currency"),
                "reference": reference,
                "source": source,
            },
        )
        row.settled_by = reference
    return row


def settle_if_open(event: MoneyToGiveBack, *, reference: str, source: str) -> bool:
    """``settle`` for a webhook that read ``event`` open: whether it settled it, False when
    finance settled it since (found so under its lock; ``settle``'s savepoint undone), which
    the webhook takes as done before it rather than fail and wait for Stripe's redelivery."""
    try:
        settle(event, reference=reference, source=source)
    except SettledAlready:
        return False
    return True


def refund_in_stripe(event: MoneyToGiveBack, *, actor=None, request=None) -> MoneyToGiveBack:
    """Finance has EdgePlug give back a card payment's money to give back (an invoice paid
    twice: that payment's ``amount``; overpaid: its ``excess``) by a Stripe refund on its
    PaymentIntent, then recorded settled with the refund's id (``settle``, ``source``
    ``refunded_in_stripe``). Refused when settled already (``settled_already``) and for the
    other kinds (``not_a_card_payment``: given back by hand, then recorded).

    Stripe is called outside any transaction (no row lock is held while it answers). The
    refund carries the event's id in its metadata and is looked for before one is made, and
    its idempotency key is the event's: a retry whose first answer was lost, or two finance
    staff refunding at once, find that one refund and never refund twice, even after the key
    expired; ``settle`` then records it once (the second is refused ``settled_already``).
    When Stripe refuses or cannot be reached (``payment_processor_error``;
    ``payments_not_configured``) nothing is recorded: the row stays open, the error saying
    why."""
    row = MoneyToGiveBack.objects.with_settlement().get(pk=event.pk)
    if (refusal := refund_refusal(row)) is not None:
        raise refusal
    intent, amount = row.details["payment_intent"], row.amount_to_give_back
    marker = {"money_to_give_back": str(row.pk)}
    try:
        refund = payments.refund_made(intent, metadata=marker) or payments.refund(
            intent,
            amount=amount,
            metadata={**marker, "kind": row.action, "target": row.target},
            idempotency_key=payments.idempotency_key("refund-money-to-give-back", row),
        )
    except PaymentProcessorError as exc:
        if not exc.key_spent:
            raise
        # Stripe refused the refund itself: the same request would be refused again.
        raise PaymentProcessorError(
            f"{exc.detail.removesuffix(' Try again later.')} Nothing was refunded: give it "
            "back in Stripe's dashboard or by transfer, then record it settled.",
            key_spent=True,
        ) from exc
    return settle(row, reference=refund, source=REFUNDED_IN_STRIPE, actor=actor, request=request)


def _settled_refusal(row: MoneyToGiveBack) -> SettledAlready | None:
    """Money given back is settled once: a second settling (by hand or a Stripe refund) is
    refused, naming the first one's reference (``row`` read ``with_settlement()``)."""
    if row.settled_by is not None:
        return SettledAlready(f"It was settled already ({row.settled_by}).")
    return None


def refund_refusal(row: MoneyToGiveBack) -> DomainError | None:
    """Why ``refund_in_stripe`` refuses ``row`` (read ``with_settlement()``), or None when it
    refunds it: the admin's confirmation page says it beside each row before anything moves."""
    if refused := _settled_refusal(row):
        return refused
    if not row.is_card_payment:
        return NotACardPayment(
            "Not a card payment EdgePlug refunds: left for Record settled, once given back as "
            "it says."
        )
    amount = row.amount_to_give_back
    if not (row.details or {}).get("payment_intent") or not amount or amount <= 0:
        what = row.action.replace("_", " ")
        return NotACardPayment(
            f"It names no PaymentIntent and amount to refund ({what}): left for Record "
            "settled, once given back by hand."
        )
    return None
