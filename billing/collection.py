"""Payment and dunning: charge a finalized invoice on the tenant's saved card, apply what the
processor says (at once or by webhook, in any order, any number of times), retry on the
``BILLING_DUNNING_DAYS`` schedule, then mark it uncollectible and suspend the tenant's
entitlements; a later payment (card or offline) gives them back. A first charge whose task
was lost (broker or processor down) is made by a beat job after a grace period, and so is an
attempt on a new default card.

Every Stripe call goes through ``billing.payments``. An attempt runs with the invoice row
locked and counts itself in the same transaction as its PaymentIntent id, so a crash before
the commit repeats the same attempt number and the same idempotency key: Stripe answers with
the intent it already made instead of charging again. So does a processor error without an
answer (unreachable, a timeout), or a 5xx, 401 or 429; a refusal of the request itself fails
the attempt, as orders count it (``PaymentProcessorError.key_spent``), so the next one takes
a new key. Described in
docs/billing.md.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone

from billing import payments
from billing.audit import record_invoice_event
from billing.errors import (
    AmountAboveMaximum,
    AmountBelowMinimum,
    InvalidPaymentReference,
    InvoiceNotCollectable,
    PaymentMethodRequired,
    PaymentNotOurs,
    PaymentProcessorError,
)
from billing.models import Invoice, InvoiceKind, InvoiceStatus, NewCardCharge, first_charge_grace
from billing.payment_notices import Notice
from billing.queueing import send_after_commit
from billing.signals import default_card_set
from edgeplug.audit.services import recorded
from edgeplug.core.columns import clipped
from edgeplug.errors import DomainError
from edgeplug.text import ascii_integer, invisible, says_nothing, unprintable
from edgeplug.timefmt import utc_iso
from marketplace import orders

COLLECT_TASK = "billing.tasks.collect_invoice_payment"
NEW_CARD_TASK = "billing.tasks.collect_with_new_card"
NOTICE_TASK = "billing.tasks.send_payment_notice"

MAX_REFERENCE_LENGTH = 255

logger = logging.getLogger(__name__)


def idempotency_key(invoice: Invoice, attempt: int) -> str:
    """Deterministic per invoice and attempt: a repeated call is the same charge at Stripe."""
    return payments.idempotency_key("invoice", invoice, "attempt", attempt)


def retry_days() -> list[int]:
    return list(settings.BILLING_DUNNING_DAYS)


def schedule_collection(invoice: Invoice) -> None:
    """Charge the invoice from a worker once the caller's transaction commits (finalize).

    Robust: a publish that fails (the broker down) is logged and does not stop the hooks
    after it (the other invoices of a batch finalize); ``collect_missed_first_charges``
    charges this one after the grace period."""
    if invoice.kind == InvoiceKind.INVOICE and invoice.status == InvoiceStatus.OPEN:
        send_after_commit(COLLECT_TASK, invoice.pk)


def _notify(invoice: Invoice, notice: str) -> None:
    # Robust, as the finalize's hooks: a notice the broker refused is logged, and neither the
    # beat job that charged it nor the hooks after it stop there.
    send_after_commit(NOTICE_TASK, invoice.pk, notice, invoice.payment_attempts)


def _locked(invoice_id: int) -> Invoice | None:
    rows = Invoice.objects.select_for_update(of=("self",)).select_related("tenant")
    return rows.filter(pk=invoice_id).first()


# --- attempts ----------


@dataclass
class Attempt:
    """What one collection did: ``charged`` is False when no charge was tried."""

    invoice: Invoice
    charged: bool
    outcome: str  # paid | payment_failed | uncollectible | pending | <a reason nothing ran>


def collect_invoice(invoice_id: int, *, now: datetime | None = None) -> Attempt:
    """The first charge after finalize (the Celery task scheduled by ``finalize_invoice``)."""
    with transaction.atomic():
        invoice = _locked(invoice_id)
        if invoice is None:  # its finalize rolled back after scheduling (tests, a crash)
            return Attempt(Invoice(pk=invoice_id), False, "no_such_invoice")
        if invoice.status != InvoiceStatus.OPEN or invoice.payment_attempts > 0:
            # Already charged (the task ran twice) or settled meanwhile: nothing to do.
            return Attempt(invoice, False, invoice.status)
        return _attempt(invoice, now or timezone.now())


def retry_refusal(invoice: Invoice) -> DomainError | None:
    """Why finance cannot charge ``invoice`` now (``retry_invoice_payment``), or None: it is
    settled, its last charge is still processing, it is not paid by card, or its tenant has
    no card on file. Read without a lock by the page that asks first; the action asks again
    under its lock."""
    try:
        _reject_settled(invoice)
        payments.refuse_while_awaited(invoice, then="Retry once it has failed.")
        _reject_not_by_card(invoice)
    except DomainError as refused:
        return refused
    if payments.configured() and payments.default_payment_method(invoice.tenant) is None:
        return PaymentMethodRequired(
            f"{invoice.tenant} has no card on file: a card saved as the default "
            "(/api/v1/billing/payment-methods) is charged at once; a bank transfer is recorded "
            "as an offline payment."
        )
    return None


def retry_invoice_payment(
    invoice: Invoice, *, actor=None, request=None, asked_by: str = "finance"
) -> Attempt:
    """Finance (*Retry payment now*), or the tenant (``POST /api/v1/invoices/{id}/pay``,
    ``asked_by="tenant"``), charges an unpaid invoice now on the tenant's default card (also
    an uncollectible one: a success gives the tenant's entitlements back). The attempt counts
    like a scheduled one; the invoice's lock makes a second request at once wait, then find
    it paid (or charge the next attempt after a failure)."""
    with transaction.atomic():
        invoice = _locked(invoice.pk)
        if refusal := retry_refusal(invoice):
            raise refusal
        record_invoice_event(
            "invoice_payment_retry_requested",
            invoice,
            attempts_before=invoice.payment_attempts,
            asked_by=asked_by,
            actor=actor,
            request=request,
        )
        return _attempt(invoice, timezone.now(), forced=True)


# --- a card saved after the invoice went unpaid ----------


@receiver(default_card_set, dispatch_uid="billing.collection.schedule_on_new_card")
def _on_default_card_set(sender, tenant_id: int, **kwargs) -> None:
    schedule_on_new_card(tenant_id)


def schedule_on_new_card(tenant_id: int) -> list[int]:
    """The tenant has a new default card: once the caller commits, try each of its unpaid
    invoices (``open`` without a card, in dunning, or ``uncollectible``) on it, one task each.
    Each task carries the attempt count seen here, so a task delivered twice, or an attempt
    made meanwhile (the dunning, finance), leaves it at one charge. Its arguments are kept in
    the caller's transaction (``NewCardCharge``) until it decides: should it be lost,
    ``collect_missed_new_card_charges`` makes the attempt after the grace."""
    unpaid = list(
        Invoice.objects.unpaid()
        .filter(tenant_id=tenant_id)
        .order_by("period_start", "pk")
        .values_list("pk", "payment_attempts")
    )
    NewCardCharge.objects.bulk_create(
        NewCardCharge(tenant_id=tenant_id, invoice_id=invoice_id, attempts_seen=attempts)
        for invoice_id, attempts in unpaid
    )
    for invoice_id, attempts in unpaid:
        # Robust: one refused publish does not drop the other invoices' attempts.
        send_after_commit(NEW_CARD_TASK, invoice_id, attempts)
    return [invoice_id for invoice_id, _ in unpaid]


def collect_with_new_card(
    invoice_id: int,
    attempts_seen: int,
    *,
    now: datetime | None = None,
    queued_at: datetime | None = None,
) -> Attempt:
    """One attempt on the tenant's new default card (the task ``schedule_on_new_card``
    queues, or the beat job making it for a lost task: ``queued_at`` is when it was queued).
    It counts like a scheduled attempt (same idempotency keys); its failure moves the dunning
    on as a retry's would, and its success of an uncollectible invoice gives the entitlements
    back. Whatever it decides, its ``NewCardCharge`` goes in the same transaction; a
    processor error rolls both back, for the task's retry or the beat job."""
    with transaction.atomic():
        invoice = _locked(invoice_id)
        # Taken after the invoice's lock by the task and the beat job alike: neither waits for
        # the other holding what the other needs.
        NewCardCharge.objects.filter(invoice_id=invoice_id, attempts_seen=attempts_seen).delete()
        if invoice is None:
            return Attempt(Invoice(pk=invoice_id), False, "no_such_invoice")
        if not invoice.is_unpaid or invoice.payment_attempts != attempts_seen:
            # Settled, voided, or charged since the card was saved: nothing more to do.
            return Attempt(invoice, False, invoice.status)
        if invoice.is_awaiting_outcome:
            return Attempt(invoice, False, "pending")
        if invoice.amount_due <= 0:  # credited in full before 0014: settled, not charged
            return _attempt(invoice, now or timezone.now())
        if unchargeable := _not_by_card(invoice):
            return Attempt(invoice, False, unchargeable[0].code)  # no card charges it
        if payments.default_payment_method(invoice.tenant) is None:  # removed meanwhile
            return Attempt(invoice, False, PaymentMethodRequired.code)
        caught_up = {"queued_at": utc_iso(queued_at)} if queued_at else {}
        record_invoice_event(
            "invoice_payment_on_new_card",
            invoice,
            attempts_before=invoice.payment_attempts,
            **caught_up,
        )
        return _attempt(invoice, now or timezone.now(), forced=True)


@dataclass
class CollectionRun:
    """What a beat job charged: invoice number -> outcome, or -> why its attempt failed."""

    attempted: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def retry_due_invoice_payments(now: datetime | None = None) -> CollectionRun:
    """The beat job: charge each invoice whose next attempt is due (``_charge_each``); a
    processor error leaves it due for the next run."""
    now = now or timezone.now()
    due = Invoice.objects.filter(
        status=InvoiceStatus.PAYMENT_FAILED,
        next_payment_attempt_at__lte=now,
        kind=InvoiceKind.INVOICE,
    )
    return _charge_each(due, now, order_by=("next_payment_attempt_at", "pk"), what="retry")


def collect_missed_first_charges(now: datetime | None = None) -> CollectionRun:
    """The beat job's net for a lost first charge: each invoice finalized over
    ``BILLING_FIRST_CHARGE_GRACE_MINUTES`` ago and still awaiting its first charge
    (``Invoice.objects.awaiting_first_charge``: its task's publish failed at finalize, or the
    processor stayed down for all its retries) gets it now, as ``collect_invoice`` would
    have made it: same attempt number, same idempotency key, so a task still retrying
    meanwhile makes no second charge. An invoice whose attempt fails stays awaiting for the
    next run."""
    now = now or timezone.now()
    missed = Invoice.objects.awaiting_first_charge().past_first_charge_grace(now)
    return _charge_each(
        missed, now, order_by=("finalized_at", "pk"), what="first charge", audit=_caught_up
    )


def _caught_up(invoice: Invoice) -> None:
    record_invoice_event(
        "invoice_first_charge_caught_up", invoice, finalized_at=utc_iso(invoice.finalized_at)
    )


def collect_missed_new_card_charges(now: datetime | None = None) -> CollectionRun:
    """The beat job's net for a lost attempt on a new card: each ``NewCardCharge`` queued over
    ``BILLING_FIRST_CHARGE_GRACE_MINUTES`` ago (its task's publish failed, or the processor
    stayed down for all its retries; a task that decided took it away) is made now by
    ``collect_with_new_card`` with the attempt count its task carries: the same checks, the
    same attempt number and idempotency key, so the task still retrying meanwhile and the job
    make one charge between them. One whose attempt fails stays for the next run."""
    now = now or timezone.now()
    missed = NewCardCharge.objects.filter(queued_at__lte=now - first_charge_grace())
    missed = missed.select_related("invoice").order_by("queued_at", "pk")
    run = CollectionRun()
    skipped: list[int] = []
    while owed := missed.exclude(pk__in=skipped).first():
        skipped.append(owed.pk)
        attempt = partial(
            collect_with_new_card,
            owed.invoice_id,
            owed.attempts_seen,
            now=now,
            queued_at=owed.queued_at,
        )
        _report(run, owed.invoice.number, "new card charge", attempt)
    return run


def _charge_each(
    invoices, now: datetime, *, order_by: tuple[str, ...], what: str, audit=None
) -> CollectionRun:
    """Attempt each of ``invoices``, one transaction each. ``skip_locked`` lets several workers
    share the work and skips an invoice being charged or paid right now; ``audit(invoice)``
    records why it is charged now, with the attempt."""
    run = CollectionRun()
    skipped: list[int] = []
    while True:
        with transaction.atomic():
            invoice = (
                invoices.select_for_update(skip_locked=True, of=("self",))
                .select_related("tenant")
                .exclude(pk__in=skipped)
                .order_by(*order_by)
                .first()
            )
            if invoice is None:
                return run
            skipped.append(invoice.pk)
            _report(run, invoice.number, what, partial(_audited, invoice, now, audit))


def _audited(invoice: Invoice, now: datetime, audit) -> Attempt:
    with transaction.atomic():
        if audit is not None:
            audit(invoice)
        return _attempt(invoice, now)


def _report(run: CollectionRun, number: str, what: str, charge) -> None:
    """Make one attempt of a beat job (``charge()``, in its own transaction or savepoint) and
    report its outcome in ``run``. One whose attempt fails (the processor down, anything else)
    is logged and reported, and the others go on: it never holds up those after it."""
    try:
        run.attempted[number] = charge().outcome
    except PaymentProcessorError as error:
        logger.warning("%s of invoice %s failed: %s", what, number, error)
        run.errors[number] = error.detail
    except Exception as error:  # one invoice's failure must not stop the others
        logger.exception("%s of invoice %s failed", what, number)
        run.errors[number] = f"{type(error).__name__}: {error}"[:500]


def _reject_settled(invoice: Invoice | None, *, nothing_due_ok: bool = False) -> None:
    if invoice is None:
        raise InvoiceNotCollectable("This invoice does not exist any more.")
    if not invoice.is_unpaid:
        raise InvoiceNotCollectable(
            f"Invoice {invoice.number or invoice.pk} is {invoice.status}: only finalized, "
            "unpaid invoices take a payment."
        )
    if invoice.amount_due <= 0 and not nothing_due_ok:
        raise InvoiceNotCollectable(
            f"Invoice {invoice.number} has nothing to collect: its credit notes gave back all "
            "it asked. Record it as paid (offline), quoting them."
        )


def _not_by_card(invoice: Invoice) -> tuple[type[DomainError], str] | None:
    """Why no card can pay the invoice's amount due, or None: below the card processor's
    smallest charge or above its largest (Stripe refuses either, and every retry of it)."""
    amount, currency = invoice.amount_due, invoice.currency
    if refusal := payments.below_minimum_charge(amount, currency):
        return AmountBelowMinimum, refusal
    if refusal := payments.above_maximum_charge(amount, currency):
        return AmountAboveMaximum, refusal
    return None


def _reject_not_by_card(invoice: Invoice) -> None:
    if unchargeable := _not_by_card(invoice):
        error, refusal = unchargeable
        raise error(
            f"Invoice {invoice.number}: {refusal}, so no card charge is tried. Record the "
            "bank transfer that pays it, or credit it."
        )


def _attempt(invoice: Invoice, now: datetime, *, forced: bool = False) -> Attempt:
    """One charge of a locked, unpaid invoice for its amount due (in the caller's
    transaction, which keeps the row locked during the processor call)."""
    if invoice.amount_due <= 0:
        # Credited in full before credit notes settled what they credit (migration 0014):
        # nothing is charged, and the dunning or a new card settles it as a credit note would.
        numbers = (
            invoice.credit_notes.exclude(status=InvoiceStatus.VOID)
            .order_by("pk")
            .values_list("number", flat=True)
        )
        _mark_paid(
            invoice, now, source="credit_note", reference=f"credit note {', '.join(numbers)}"
        )
        return Attempt(invoice, False, invoice.status)
    if not payments.configured():
        _note(invoice, "payments_not_configured", "Payments are not configured on this server.")
        return Attempt(invoice, False, "payments_not_configured")
    if unchargeable := _not_by_card(invoice):
        # Stripe would refuse it (amount_too_small or _large), and each retry of the same
        # amount: no attempt, so no dunning and no suspension. It stays open and the tenant is
        # told, once.
        error, refusal = unchargeable
        if invoice.next_payment_attempt_at is not None:
            # In the dunning since before this check (payment_failed): it leaves it alone now,
            # or its beat job would pick it again on every run.
            invoice.next_payment_attempt_at = None
            invoice.save(update_fields=["next_payment_attempt_at", "updated_at"])
        if _note(
            invoice, error.code, f"{refusal}. Pay it by bank transfer quoting the invoice number."
        ):
            _notify(invoice, Notice(error.code))
        return Attempt(invoice, False, error.code)
    has_card = payments.default_payment_method(invoice.tenant) is not None
    if not has_card and invoice.payment_attempts == 0 and not forced:
        # At finalize: the invoice stays open and the tenant is told; nothing is retried.
        if _note(
            invoice,
            PaymentMethodRequired.code,
            "No card on file: add one under /api/v1/billing/payment-methods, "
            "or pay by bank transfer quoting the invoice number.",
        ):
            _notify(invoice, Notice.PAYMENT_METHOD_REQUIRED)
        return Attempt(invoice, False, PaymentMethodRequired.code)
    # The attempt is now awaited: no retry planned, no failure known yet.
    invoice.payment_attempts += 1
    invoice.next_payment_attempt_at = None
    invoice.payment_failure_code = invoice.payment_failure_detail = ""
    invoice.save(
        update_fields=[
            "payment_attempts",
            "next_payment_attempt_at",
            "payment_failure_code",
            "payment_failure_detail",
            "updated_at",
        ]
    )
    if has_card:
        outcome = _charge(invoice)
    else:  # the card was removed during dunning: this retry fails like a decline
        outcome = payments.PaymentOutcome(
            payments.IntentState.FAILED,
            failure_code=PaymentMethodRequired.code,
            failure_message="No card on file to charge.",
        )
    if outcome.payment_intent_id:
        invoice.payment_intent_id = outcome.payment_intent_id
        invoice.save(update_fields=["payment_intent_id", "updated_at"])
    return Attempt(invoice, True, _apply(invoice, outcome, now))


def _charge(invoice: Invoice) -> payments.PaymentOutcome:
    """Charge attempt ``payment_attempts`` of the invoice. A processor error that spent the
    attempt's idempotency key (``PaymentProcessorError.key_spent``: Stripe refused the request
    itself, and would answer that key the same way for good) is a failed attempt, as a decline
    is: the dunning moves on and the next attempt takes the next key. Any other (Stripe
    unreachable, a timeout or a 5xx: the charge may have been made; a 401 or 429) is raised,
    rolling the attempt back so that its retry sends the same key (``payments.charge_attempt``)."""
    outcome = payments.charge_attempt(
        invoice.tenant,
        invoice.amount_due,
        invoice.currency,
        idempotency_key=idempotency_key(invoice, invoice.payment_attempts),
        metadata={
            "invoice": str(invoice.pk),
            "number": invoice.number,
            "attempt": str(invoice.payment_attempts),
            "tenant": str(invoice.tenant_id),
        },
    )
    if isinstance(outcome, PaymentProcessorError):
        return payments.PaymentOutcome(
            payments.IntentState.FAILED, failure_code=outcome.code, failure_message=outcome.detail
        )
    return outcome


def _note(invoice: Invoice, code: str, detail: str) -> bool:
    """Say on the invoice why nothing was charged; True the first time it is said."""
    if invoice.payment_failure_code == code:
        return False
    invoice.payment_failure_code = code
    invoice.payment_failure_detail = clipped(Invoice, "payment_failure_detail", detail)
    invoice.save(update_fields=["payment_failure_code", "payment_failure_detail", "updated_at"])
    record_invoice_event("invoice_payment_not_attempted", invoice, code=code)
    return True


# --- applying what the processor says ----------


def _apply(invoice: Invoice, outcome: payments.PaymentOutcome, now: datetime) -> str:
    """Move a locked invoice by the processor's state of one of its PaymentIntents: any
    intent's success pays it; only a failure of the attempt still awaited counts, once."""
    if outcome.status == payments.IntentState.SUCCEEDED:
        _mark_paid(
            invoice,
            now,
            source="card",
            payment_intent_id=outcome.payment_intent_id,
            charged=outcome.amount,
        )
        if outcome.amount_refunded and invoice.intent_that_paid == outcome.payment_intent_id:
            # Refunded in Stripe's dashboard before its success was seen here: its
            # ``charge.refunded`` found no invoice paid by it then (``billing.taken_back``).
            send_after_commit("billing.tasks.book_refunds_in_stripe", outcome.payment_intent_id)
        return invoice.status  # paid, or void if it was voided before (``_mark_paid``)
    awaited = (
        outcome.payment_intent_id in ("", invoice.payment_intent_id) and invoice.is_awaiting_outcome
    )
    if not awaited or outcome.status == payments.IntentState.PROCESSING:
        return "pending" if awaited else invoice.status
    # Off-session nobody can pass 3-D Secure: like Stripe, that is a failed attempt.
    code = outcome.failure_code or "authentication_required"
    message = outcome.failure_message or "The bank asks the card holder to authenticate."
    return _record_failure(invoice, code, message, now)


def _next_attempt_at(attempt: int, now: datetime) -> datetime | None:
    """After failed attempt ``attempt`` (1 = the charge at finalize), when to retry: the
    schedule counts days from the first failure, so each wait is the gap between two days."""
    days = retry_days()
    if attempt > len(days):
        return None
    previous = days[attempt - 2] if attempt >= 2 else 0
    return now + timedelta(days=days[attempt - 1] - previous)


def _record_failure(invoice: Invoice, code: str, message: str, now: datetime) -> str:
    was_uncollectible = invoice.status == InvoiceStatus.UNCOLLECTIBLE
    invoice.payment_failure_code = clipped(Invoice, "payment_failure_code", code)
    invoice.payment_failure_detail = clipped(Invoice, "payment_failure_detail", message)
    invoice.next_payment_attempt_at = (
        None if was_uncollectible else _next_attempt_at(invoice.payment_attempts, now)
    )
    if was_uncollectible or invoice.next_payment_attempt_at is None:
        invoice.status = InvoiceStatus.UNCOLLECTIBLE
    else:
        invoice.status = InvoiceStatus.PAYMENT_FAILED
    invoice.save(
        update_fields=[
            "status",
            "payment_failure_code",
            "payment_failure_detail",
            "next_payment_attempt_at",
            "updated_at",
        ]
    )
    record_invoice_event(
        "invoice_payment_failed",
        invoice,
        attempt=invoice.payment_attempts,
        code=code,
        payment_intent=invoice.payment_intent_id,
        next_attempt_at=(
            utc_iso(invoice.next_payment_attempt_at) if invoice.next_payment_attempt_at else None
        ),
    )
    if invoice.status == InvoiceStatus.UNCOLLECTIBLE and not was_uncollectible:
        suspended = orders.suspend_for_non_payment(invoice.tenant, invoice_number=invoice.number)
        record_invoice_event("invoice_uncollectible", invoice, suspended_entitlements=suspended)
        _notify(invoice, Notice.UNCOLLECTIBLE)
    elif not was_uncollectible:
        _notify(invoice, Notice.PAYMENT_FAILED)
    return invoice.status


def _mark_paid(
    invoice: Invoice,
    now: datetime,
    *,
    source: str,
    payment_intent_id: str = "",
    reference: str = "",
    charged: int | None = None,
    actor=None,
    request=None,
) -> None:
    """Settle an unpaid invoice; ``charged`` is what a card success took (the intent's
    amount), audited as the amount paid, with ``amount_due`` beside it when they differ."""
    amount = invoice.amount_due if charged is None else charged
    if not invoice.is_unpaid:
        if payment_intent_id and payment_intent_id != invoice.intent_that_paid:
            _record_paid_twice(invoice, payment_intent_id, amount)
        return
    was_uncollectible = invoice.status == InvoiceStatus.UNCOLLECTIBLE
    invoice.status, invoice.paid_at = InvoiceStatus.PAID, now
    invoice.next_payment_attempt_at = None
    invoice.payment_failure_code = invoice.payment_failure_detail = ""
    if payment_intent_id:
        invoice.payment_intent_id = payment_intent_id
    if reference:
        invoice.payment_reference = reference
    invoice.save(
        update_fields=[
            "status",
            "paid_at",
            "next_payment_attempt_at",
            "payment_failure_code",
            "payment_failure_detail",
            "payment_intent_id",
            "payment_reference",
            "updated_at",
        ]
    )
    differs = {} if amount == invoice.amount_due else {"amount_due": invoice.amount_due}
    record_invoice_event(
        "invoice_paid",
        invoice,
        source=source,
        amount=amount,
        **differs,
        currency=invoice.currency,
        payment_intent=payment_intent_id,
        reference=reference,
        actor=actor,
        request=request,
    )
    if amount > invoice.amount_due and payment_intent_id:
        _record_overpaid(invoice, payment_intent_id, amount)
    if was_uncollectible:
        lift_suspension(invoice)


def _record_overpaid(invoice: Invoice, payment_intent_id: str, charged: int) -> None:
    """A card charge took more than the invoice asks now: credit notes lowered it while the
    charge awaited its outcome (a 3-D Secure challenge passed later). The invoice is paid;
    finance is told what to give back on that PaymentIntent, as for ``_record_paid_twice``
    (the invoice is settled once, in its transaction, so this is said once)."""
    excess = charged - invoice.amount_due
    logger.warning(
        "invoice %s: %s took %s, %s more than it asks",
        invoice.number,
        payment_intent_id,
        charged,
        excess,
    )
    record_invoice_event(
        "invoice_overpaid",
        invoice,
        payment_intent=payment_intent_id,
        amount=charged,
        amount_due=invoice.amount_due,
        excess=excess,
        currency=invoice.currency,
    )


def _record_paid_twice(invoice: Invoice, payment_intent_id: str, amount: int) -> None:
    """A card charge succeeded for an invoice already settled (by another intent, offline, or
    void): the invoice stays as it is, and finance is told what to refund, once per intent
    however many events about it come."""
    if recorded("invoice_paid_twice", invoice=invoice.pk, payment_intent=payment_intent_id):
        return
    record_invoice_event(
        "invoice_paid_twice",
        invoice,
        payment_intent=payment_intent_id,
        amount=amount,
        currency=invoice.currency,
        status=invoice.status,
        paid_by_intent=invoice.intent_that_paid,
        reference=invoice.payment_reference,
    )


def lift_suspension(invoice: Invoice) -> list[int]:
    """An uncollectible invoice is no longer owed (paid, or voided): once the tenant has no
    other uncollectible invoice, its entitlements suspended for non-payment are active again
    (in the caller's transaction, which holds the invoice); returns them. Decided under the
    tenant's standing lock (``orders.lock_standing``): another invoice turning uncollectible
    meanwhile is waited for and seen, or waits and suspends what this gave back."""
    if orders.uncollectible_invoices(invoice.tenant_id).exclude(pk=invoice.pk).exists():
        return []
    return orders.reactivate_after_payment(invoice.tenant, invoice_number=invoice.number)


def invoice_id_of(outcome: payments.PaymentOutcome) -> int | None:
    """The invoice a PaymentIntent charges: our metadata on the intent, else the latest
    attempt stored on the invoice."""
    if (named := ascii_integer(outcome.metadata.get("invoice", ""))) is not None:
        return named
    found = Invoice.objects.filter(payment_intent_id=outcome.payment_intent_id)
    return found.values_list("pk", flat=True).first() if outcome.payment_intent_id else None


def sync_invoice_payment(outcome: payments.PaymentOutcome) -> Invoice | None:
    """A webhook about an invoice's PaymentIntent, re-fetched (``outcome``): apply its current
    state. Replays and reordered events end the same: a success pays once, and only the
    latest attempt's failure, once, moves the dunning on. An intent that is not the
    invoice's payment changes nothing and raises ``PaymentNotOurs`` (``_refuse_foreign``)."""
    invoice_id = invoice_id_of(outcome)
    if invoice_id is None:
        return None
    with transaction.atomic():
        invoice = _locked(invoice_id)  # not its tenant: lift_suspension locks that if need be
        if invoice is None:
            return None
        refusal = _refuse_foreign(invoice, outcome)
        if refusal is None:
            _apply(invoice, outcome, timezone.now())
    if refusal is not None:
        raise refusal  # told to finance, committed: the webhook acknowledges it
    return invoice


def _refuse_foreign(invoice: Invoice, outcome: payments.PaymentOutcome) -> PaymentNotOurs | None:
    """An intent that is not the invoice's payment (``payments.refuse_foreign_payment``)
    changes nothing: a stranger's 0.50 USD naming it paid a 14.28 EUR invoice and gave the
    suspended entitlements back. Its own attempt's intent (stored on it) is its payment. Any
    other must be the tenant's customer's, in the invoice's currency, of at least what it
    asks while unpaid (credit notes may have lowered that since the charge:
    ``_record_overpaid``); on a settled invoice any such sum is paid twice
    (``_record_paid_twice``)."""
    if outcome.payment_intent_id and outcome.payment_intent_id == invoice.payment_intent_id:
        return None
    return payments.refuse_foreign_payment(
        outcome,
        invoice.tenant,
        invoice.amount_due if invoice.is_unpaid else 0,
        invoice.currency,
        target=f"invoice {invoice.number or invoice.pk}",
        names={"invoice": invoice.pk},
        or_more=True,
    )


# Stripe's webhooks may be lost: an outcome awaited this long is asked for again.
AWAITED_RECHECK = timedelta(hours=1)


@dataclass
class Reconciliation:
    """What ``reconcile_awaited_payments`` did: number -> status after, for each invoice
    asked for; number -> why, for each whose PaymentIntent the processor failed on."""

    reconciled: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def reconcile_awaited_payments(now: datetime | None = None) -> Reconciliation:
    """The beat job's net for a lost webhook: each invoice whose attempt has awaited its
    outcome for over ``AWAITED_RECHECK`` has its PaymentIntent re-fetched and applied as the
    webhook would have (``sync_invoice_payment``). Until then finance's retry waits for it
    (``payment_pending``), as the dunning does. A processor error on one intent leaves that
    invoice awaited for the next run and the others are still asked for."""
    now = now or timezone.now()
    run = Reconciliation()
    if not payments.configured():
        return run
    stale = (
        Invoice.objects.awaiting_outcome()
        .filter(updated_at__lte=now - AWAITED_RECHECK)
        .exclude(payment_intent_id="")
        .order_by("updated_at", "pk")
    )
    for number, intent_id in stale.values_list("number", "payment_intent_id"):
        try:
            invoice = sync_invoice_payment(payments.payment_status(intent_id))
        except PaymentProcessorError as error:
            run.errors[number] = error.detail
            continue
        run.reconciled[number] = invoice.status if invoice else "unknown"
    return run


# --- credit notes ----------


def credit_taken_off(invoice: Invoice, credit: int) -> int:
    """What a credit note of the locked ``invoice`` giving back ``credit`` (minor units, tax
    included) takes off what the invoice asks: all of it while the invoice is unpaid, never
    more than is due (Stripe's pre-payment credit), before rounding; nothing once it is paid
    (its credit note is money owed back, ``money_back.owed``). The note keeps it
    (``Invoice.applied_amount``), and says it."""
    if not invoice.is_unpaid or credit <= 0:
        return 0
    return min(credit, invoice.unrounded_amount_due)


def take_credit_off(invoice: Invoice, taken_off: int) -> bool:
    """``taken_off`` (``credit_taken_off``) off what ``invoice`` asks, the rest rounded again
    (``Invoice.round_amount_due``), on the object only (not saved); whether nothing is due
    now, which settles it (``apply_credit``)."""
    invoice.credited_amount += taken_off
    invoice.round_amount_due()
    return invoice.amount_due == 0


def apply_credit(
    invoice: Invoice, note: Invoice, *, now: datetime, actor=None, request=None
) -> None:
    """The just-issued credit ``note`` of the locked ``invoice`` takes what it took off
    (``applied_amount``: ``credit_taken_off``) off what the invoice asks: that much less is
    due, so a charge takes only the rest, and the rest is rounded again to what a card can
    be charged (``Invoice.round_amount_due``); once nothing is due it is settled, as a
    payment settles it (``paid``, audited with ``source: credit_note``; an uncollectible one
    gives the entitlements back). A paid invoice's credit note is money owed back and changes
    nothing here. In the caller's transaction (``invoicing.issue_credit_note``)."""
    if not note.applied_amount:
        return
    settled = take_credit_off(invoice, note.applied_amount)
    invoice.save(update_fields=["credited_amount", "rounding_amount", "updated_at"])
    if settled:
        _mark_paid(
            invoice,
            now,
            source="credit_note",
            reference=f"credit note {note.number}",
            actor=actor,
            request=request,
        )


# --- offline payments ----------


def checked_reference(reference: str) -> str:
    """A payment's reference as finance typed it (a transfer's id), trimmed: 1 to
    ``MAX_REFERENCE_LENGTH`` characters, compared by eye with the bank's, so none invisible
    (``\u200b`` alone was taken and the invoice marked paid with a blank reference), nor a
    control or bidirectional character (it goes into the finance exports)."""
    reference = (reference or "").strip()
    if says_nothing(reference) or len(reference) > MAX_REFERENCE_LENGTH:
        raise InvalidPaymentReference(
            f"Give the payment's reference (1 to {MAX_REFERENCE_LENGTH} characters)."
        )
    if refusal := unprintable(reference) or invisible(reference):
        raise InvalidPaymentReference(f"The reference {refusal}.")
    return reference


def record_offline_payment(
    invoice: Invoice, *, reference: str, actor=None, request=None
) -> Invoice:
    """Finance records a payment received outside Stripe (a bank transfer) with its
    reference; an uncollectible invoice paid this way gives the entitlements back. Refused
    while a card charge of it is still processing (``refuse_while_awaited``)."""
    reference = checked_reference(reference)
    with transaction.atomic():
        invoice = _locked(invoice.pk)
        # Also one with nothing due: credited in full before credit notes settled what they
        # credit (migration 0014), it is recorded paid quoting them (docs/billing.md).
        _reject_settled(invoice, nothing_due_ok=True)
        payments.refuse_while_awaited(
            invoice,
            then="Record the transfer once the charge has failed (if it succeeds, the invoice "
            "is paid by card and the transfer is the customer's to refund).",
        )
        _mark_paid(
            invoice,
            timezone.now(),
            source="offline",
            reference=reference,
            actor=actor,
            request=request,
        )
    return invoice
