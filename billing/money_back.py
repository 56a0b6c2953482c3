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
``credit_note_refunded``."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from billing import collection, payments
from billing.audit import record_invoice_event
from billing.errors import NothingOwedBack
from billing.models import Invoice, InvoiceKind, InvoiceStatus
from billing.queueing import send_after_commit
from edgeplug.core.locking import locked, stamp_once
from edgeplug.errors import DomainError

logger = logging.getLogger(__name__)

REFUND_TASK_GRACE = timedelta(hours=1)


def owed(invoice: Invoice, credit: int) -> int:
    """What a credit note of the locked ``invoice`` giving back ``credit`` (what it credits,
    tax included, less the lines paid before the invoice, whose own refund returned that
    money) pays back in money: nothing unless the invoice is paid, and never more than the
    invoice itself took (its amount due: its card charge or transfer, nothing when credit
    notes settled it) less what earlier notes pay back."""
    if invoice.status != InvoiceStatus.PAID or credit <= 0:
        return 0
    before = invoice.credit_notes.aggregate(paid_back=Sum("refund_amount"))["paid_back"] or 0
    return max(0, min(credit, invoice.amount_due - before))


def pay_back(invoice: Invoice, note: Invoice, *, actor=None, request=None) -> None:
    """The just-issued ``note`` of ``invoice`` owes money back: queue its card refund for
    after the commit, or tell finance it is owed by transfer. In the note's transaction."""
    if note.refund_amount <= 0:
        return
    if invoice.intent_that_paid:
        send_after_commit("billing.tasks.refund_credit_note", note.pk)
        return
    record_invoice_event(
        "credit_note_owed_back",
        invoice,
        **_money_of(note),
        payment_reference=invoice.payment_reference,
        actor=actor,
        request=request,
    )


def _money_of(note: Invoice) -> dict:
    """What the audit events of a note's money back say of it."""
    return {"credit_note": note.number, "amount": note.refund_amount, "currency": note.currency}


def refund_credit_note(note_id: int) -> str:
    """Refund what the credit note pays back on the card payment of its invoice; returns the
    Stripe refund's id, or "" when there is nothing to refund (paid back already, nothing
    owed, or the invoice was not paid by card). A processor failure raises
    ``PaymentProcessorError`` and leaves the note owing: the task retries, then the beat job."""
    note = Invoice.objects.select_related("credit_of", "tenant").get(pk=note_id)
    intent = note.credit_of.intent_that_paid
    if note.refund_amount <= 0 or note.refunded_at is not None or not intent:
        return ""
    marker = {"credit_note": note.number}
    refund = payments.refund_made(intent, metadata=marker) or payments.refund(
        intent,
        amount=note.refund_amount,
        metadata={**marker, "invoice": note.credit_of.number},
        idempotency_key=f"edgeplug-refund-credit-note-{note.pk}",
    )
    _mark_paid_back(note, refund, how="card")
    return refund


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
    owing = Invoice.objects.filter(
        # Its own task had its turn first (it retries for a while: billing.tasks).
        finalized_at__lte=(now or timezone.now()) - REFUND_TASK_GRACE,
        kind=InvoiceKind.CREDIT_NOTE,
        refund_amount__gt=0,
        refunded_at__isnull=True,
        # Its invoice paid by card: ``Invoice.intent_that_paid`` in a query (asked again).
        credit_of__status=InvoiceStatus.PAID,
        credit_of__payment_reference="",
    ).exclude(credit_of__payment_intent_id="")
    for note_id, number in owing.order_by("pk").values_list("pk", "number"):
        try:
            run.refunded[number] = refund_credit_note(note_id) or "nothing to refund"
        except DomainError as exc:
            logger.warning("credit note %s: refund failed again: %s", number, exc.detail)
            run.errors[number] = exc.detail
    return run


def record_money_paid_back(note: Invoice, *, reference: str, actor=None, request=None) -> Invoice:
    """Finance paid back what the credit note owes outside Stripe (a transfer) and records its
    reference. Refused (``nothing_owed_back``) for anything but a credit note still owing."""
    reference = collection.checked_reference(reference)
    with transaction.atomic():
        held = locked(note)
        if held.refund_amount <= 0:
            raise NothingOwedBack(f"{held.number or held.pk} owes no money back.")
        if held.refunded_at is not None:
            raise NothingOwedBack(f"{held.number} was paid back already ({held.refund_reference}).")
        return _mark_paid_back(held, reference, how="offline", actor=actor, request=request)


def _mark_paid_back(note: Invoice, reference: str, *, how: str, actor=None, request=None):
    """Record once that the note's money went back (``reference``), audited on its invoice."""

    def audit(row: Invoice) -> None:
        record_invoice_event(
            "credit_note_refunded",
            row.credit_of,
            **_money_of(row),
            source=how,
            reference=reference,
            actor=actor,
            request=request,
        )

    with transaction.atomic():
        return stamp_once(note, "refunded_at", then=audit, refund_reference=reference)
