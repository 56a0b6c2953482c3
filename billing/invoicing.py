"""Invoicing actions: close a month into drafts, adjust a draft, finalize with a gapless
number, void an unpaid invoice, issue a credit note, rebuild an invoice to check it.

Each action runs in one transaction and records its audit event; the admin, the Celery beat
tasks, the API and ``manage.py recompute_invoice`` all call these. The lifecycle and the
numbering are described in docs/billing.md.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.dispatch import receiver
from django.utils import timezone

from billing import collection, invoice_documents, invoice_emails, money_back, payments
from billing import invoice_builder as builder
from billing.audit import record_invoice_event
from billing.billing_accounts import account_refusal, accounts_of
from billing.charge_minimums import rounding
from billing.documents.document import negative_total_refusal
from billing.draft_terms import retax, set_totals, take_tax_terms
from billing.errors import (
    AdjustmentAlreadyAdded,
    AdjustmentBelowPrepaid,
    BillingAccountMissing,
    BillingAccountNotIssuable,
    InvalidAdjustment,
    InvalidCreditLine,
    InvoiceHasNoRecipients,
    InvoiceNegativeTotal,
    InvoiceNotCreditable,
    InvoiceNotDraft,
    InvoiceNotVoidable,
    MonthNotClosed,
    NoLinesChosen,
    OrderNotRefunded,
    PaymentPending,
    PeriodNotEnded,
)
from billing.invoice_builder import DraftSpec, LineSpec
from billing.models import (
    BillingAccount,
    ClosedMonth,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceNumberSequence,
    InvoiceStatus,
    LineKind,
    live_invoice_filter,
)
from billing.periods import (
    add_months,
    has_ended,
    last_closed_month,
    month_label,
    month_start,
    months_between,
    next_month,
)
from billing.signals import invoice_finalized
from edgeplug.audit.services import record_event
from edgeplug.core.locking import locked
from edgeplug.core.reconnect import with_reconnect
from edgeplug.errors import DomainError, NotFound
from edgeplug.health.task_signals import counted_together
from edgeplug.reasons import optional_reason, require_reason
from edgeplug.tenancy.models import Tenant
from edgeplug.text import ascii_integer, shortened, unprintable
from marketplace.models import OrderStatus
from marketplace.pricing import MAX_AMOUNT, format_amount
from marketplace.signals import order_refunded

SERIES = {InvoiceKind.INVOICE: "EP", InvoiceKind.CREDIT_NOTE: "CN"}
# Tenants whose drafts are built together (entitlements, rollups, orders read at once).
CLOSE_BATCH = 200
# A close batch that loses its database connection (a restart, a failover) is redone on a new
# one up to this many times in all, pausing a little longer each time; the beat task then
# retries the whole (idempotent) close.
CLOSE_ATTEMPTS = 5
CLOSE_RETRY_PAUSE_S = 0.5

logger = logging.getLogger(__name__)

# A credit note's reason (audited with it; the admin's field says the same limit).
CREDIT_REASON_MAX = 300


# --- numbering ----------


def next_number(kind: str, year: int) -> str:
    """The next number of the kind's series for the year, e.g. ``EP-2026-000001``.

    Must run inside the finalize's transaction: the counter row stays locked until it
    commits, and rolls back with it, so numbers are gapless and never given twice."""
    series = SERIES[kind]
    counter, _ = InvoiceNumberSequence.objects.select_for_update().get_or_create(
        series=series, year=year
    )
    counter.last += 1
    counter.save(update_fields=["last"])
    return _number(series, year, counter.last)


def _number(series: str, year: int, position: int) -> str:
    return f"{series}-{year}-{position:06d}"


# --- close ----------


@dataclass
class CloseResult:
    period_start: datetime
    created: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    # Drafts with nothing left to bill (what they gave back went to credit notes): deleted.
    withdrawn: list[int] = field(default_factory=list)
    # Credit notes (numbers) that gave back refunds or lower prices outweighing their month's
    # charges.
    credit_notes: list[str] = field(default_factory=list)
    retries: int = 0  # batches (or the tenants' read) redone after a lost connection
    # A new draft's grace runs from here where that is after its month's end (a draft the
    # hourly close makes: ``_close_unasked``), not from the end of a month long over.
    grace_from: datetime | None = None

    @property
    def changed(self) -> bool:
        """Whether the close wrote anything: a draft made, refreshed or withdrawn, a refund
        credited."""
        return bool(self.created or self.updated or self.withdrawn or self.credit_notes)

    @property
    def drafted(self) -> bool:
        """Whether the month had anything to bill: a draft made, refreshed, left as it was or
        withdrawn, a refund credited."""
        return self.changed or bool(self.unchanged)

    def summary(self) -> str:
        """What the close did, as the admin and ``close_month`` tell it."""
        text = (
            f"{len(self.created)} drafts created, {len(self.updated)} refreshed, "
            f"{len(self.unchanged)} unchanged"
        )
        if self.credit_notes:
            text += f"; given back by credit notes {', '.join(self.credit_notes)}"
        if self.withdrawn:
            text += f"; {len(self.withdrawn)} drafts withdrawn (nothing left to bill)"
        return text


@dataclass(frozen=True)
class CloseAudit:
    """Who closed a month on demand (``close_period_now``), through which door: what each
    batch of the close changes is audited as ``billing_period_closed`` with them."""

    forced: bool
    via: str
    actor: Any = None
    request: Any = None

    def record(self, result: CloseResult) -> None:
        """The batch's ``billing_period_closed``, in its transaction (``_close_batch``)."""
        record_event(
            "billing_period_closed",
            request=self.request,
            actor=self.actor,
            target=f"period {month_label(result.period_start)}",
            details={
                "period": month_label(result.period_start),
                "forced": self.forced,
                "via": self.via,
                "created": len(result.created),
                "updated": len(result.updated),
                "unchanged": len(result.unchanged),
                "withdrawn": result.withdrawn,
                "credit_notes": result.credit_notes,
            },
        )


def _finalize_after(period_end: datetime, grace_from: datetime | None = None) -> datetime:
    start = period_end if grace_from is None else max(period_end, grace_from)
    return start + timedelta(days=settings.BILLING_GRACE_DAYS)


def _system_lines(invoice: Invoice) -> list[InvoiceLine]:
    return [line for line in invoice.lines.all() if line.kind != LineKind.ADJUSTMENT]


def _write_lines(invoice: Invoice, specs: Iterable[LineSpec], first_position: int = 0) -> None:
    InvoiceLine.objects.bulk_create(
        spec.as_line(invoice=invoice, position=first_position + index)
        for index, spec in enumerate(specs)
    )


def _account(tenant_id: int) -> BillingAccount | None:
    return BillingAccount.objects.filter(tenant_id=tenant_id).first()


def _freeze_parties(invoice: Invoice, account: BillingAccount) -> None:
    """On finalize: the tax terms, the seller and the buyer as they are now, kept on the
    invoice for good."""
    take_tax_terms(invoice, account)
    invoice.account_snapshot = {
        "seller": dict(settings.BILLING_SELLER),
        "buyer": account.snapshot(),
    }


def _period_invoices(period_start: datetime, tenant_ids: list[int]):
    return (
        Invoice.objects.live_invoices()
        .filter(tenant_id__in=tenant_ids, period_start=period_start)
        .values_list("tenant_id", "currency")
    )


def _new_draft(spec: DraftSpec, grace_from: datetime | None) -> Invoice:
    """The month's draft, not saved yet, before its tax terms, lines and totals."""
    return Invoice(
        tenant_id=spec.tenant_id,
        currency=spec.currency,
        period_start=spec.period_start,
        period_end=spec.period_end,
        rollup_digest=spec.rollup_digest,
        finalize_after=_finalize_after(spec.period_end, grace_from),
    )


def _drafted(invoice: Invoice, tenant: Tenant, spec: DraftSpec, result: CloseResult) -> None:
    """Audit a new draft (it has no number yet: the target is its id) and count it."""
    invoice.tenant = tenant  # known already: no query for it
    record_invoice_event(
        "invoice_drafted",
        invoice,
        period=month_label(spec.period_start),
        total=invoice.total,
    )
    result.created.append(invoice.pk)


def _create_draft(
    spec: DraftSpec, tenant: Tenant, account: BillingAccount | None, result: CloseResult
) -> bool:
    """Insert a new draft with its lines and totals (three statements and the audit event)
    within the close's batch transaction; False when one exists already (a concurrent close
    made it first)."""
    invoice = _new_draft(spec, result.grace_from)
    take_tax_terms(invoice, account)
    set_totals(invoice, ((line.amount, line.is_paid) for line in spec.lines))
    try:
        with transaction.atomic():
            invoice.save()
    except IntegrityError:
        return False
    _write_lines(invoice, spec.lines)
    _drafted(invoice, tenant, spec, result)
    return True


def _store_draft(spec: DraftSpec, result: CloseResult) -> None:
    with transaction.atomic():
        existing = (
            _month_invoices(spec.tenant_id, spec.currency, spec.period_start)
            .select_for_update()
            .first()
        )
        if existing is None:  # voided meanwhile: a new draft (unless a concurrent close made it)
            tenant = Tenant.objects.get(pk=spec.tenant_id)
            _create_draft(spec, tenant, _account(spec.tenant_id), result)
            return
        if existing.status != InvoiceStatus.DRAFT:
            result.unchanged.append(existing.pk)
            return
        spec = _rebuilt(existing, spec)
        current = [LineSpec.of(line).key() for line in _system_lines(existing)]
        if current == [line.key() for line in spec.lines]:
            # Its lines as they were; its terms as the account's are now.
            retaxed = retax(existing, _account(existing.tenant_id))
            (result.updated if retaxed else result.unchanged).append(existing.pk)
            return
        adjustments = [line for line in existing.lines.all() if line.kind == LineKind.ADJUSTMENT]
        if not spec.lines and not adjustments:
            # Nothing left to bill (its refunds were credited by credit notes): no number,
            # so it goes rather than being issued as a 0.00 invoice.
            record_invoice_event(
                "invoice_draft_withdrawn", existing, credit_notes=result.credit_notes
            )
            result.withdrawn.append(existing.pk)
            existing.delete()
            return
        existing.lines.exclude(kind=LineKind.ADJUSTMENT).delete()
        _write_lines(existing, spec.lines)
        for position, line in enumerate(adjustments, start=len(spec.lines)):
            line.position = position
            line.save(update_fields=["position"])
        existing.rollup_digest = spec.rollup_digest
        take_tax_terms(existing, _account(existing.tenant_id))
        set_totals(existing)
        existing.save()
        record_invoice_event(
            "invoice_draft_refreshed",
            existing,
            total=existing.total,
            digest=existing.rollup_digest,
        )
        result.updated.append(existing.pk)


def _month_invoices(tenant_id: int, currency: str, start: datetime):
    """The month's invoice of a tenant in a currency (not void), draft or finalized: one
    row at most."""
    return Invoice.objects.live_invoices().filter(
        tenant_id=tenant_id, currency=currency, period_start=start
    )


def _rebuilt(month: Invoice | DraftSpec, fallback: DraftSpec | None = None) -> DraftSpec | None:
    """The lines of ``month`` (an invoice, or a spec, of a tenant, currency and month) as a
    close would build them now: against the rollups as they are and what every other invoice
    billed (earlier months' late usage, and its own month's hours a later invoice billed
    late); ``fallback`` when nothing of its month is billable any more."""
    return builder.build_drafts(month.tenant_id, month.period_start).get(month.currency, fallback)


def _gives_back(line: LineSpec) -> bool:
    """A line of a month giving back money charged before: a refund (``credit``), or late
    usage that lowered what its month's usage costs (a ``volume`` plan: more hours, a lower
    tier for all of them)."""
    return line.kind == LineKind.CREDIT or (line.kind == LineKind.LATE_USAGE and line.amount < 0)


def _given_back_apart(spec: DraftSpec) -> list[LineSpec]:
    """The lines of ``spec`` that give money back when its month, as its draft would be,
    comes to less than zero: an invoice cannot (its document refuses it: money owed back is
    a credit note). A month whose invoice is finalized carries them already: none."""
    given_back = [line for line in spec.lines if _gives_back(line)]
    if not given_back:
        return []
    amounts_paid = [(line.amount, line.is_paid) for line in spec.lines]
    invoice = _month_invoices(spec.tenant_id, spec.currency, spec.period_start).first()
    if invoice is not None:
        if invoice.status != InvoiceStatus.DRAFT:
            return []
        amounts_paid += (  # finance's adjustments stay on the draft
            invoice.lines.filter(kind=LineKind.ADJUSTMENT).values_list("amount", "is_paid")
        )
    # As finalize judges it (``Totals.below_zero``), on the account's tax terms.
    account = _account(spec.tenant_id)
    sums = builder.totals(
        amounts_paid,
        account.tax_rate if account else 0,
        account.reverse_charge if account else False,
    )
    return given_back if sums.below_zero else []


def _credit_apart(drafted: dict, result: CloseResult) -> set[int]:
    """Give back by credit notes what would take a month's draft below zero.

    A refund is credited by a credit note when it is given, if its order's invoice is
    finalized already (``credit_refund``); one whose invoice was still a draft then is a
    ``credit`` line of its month. Late usage that lowered its month's usage price is a
    negative ``late_usage`` line. When such lines outweigh the month's charges, each is
    given back by a credit note of the invoices that charged it (``credit_refund``,
    ``credit_price_drop``), each in a transaction of its own, before the batch's (which
    never holds the credit notes' number counter). Returns the tenants whose drafts must be
    built again (each one it tried): the builder leaves out what a credit note gave back.

    What cannot be credited yet (the charging invoice has a card charge still processing,
    or is itself a draft) stays a line of its month, whose draft is not finalized below
    zero, and is tried again at the next close; the other tenants go on."""
    tenants = set()
    for spec in (spec for drafts in drafted.values() for spec in drafts.values()):
        for line in _given_back_apart(spec):
            if line.kind == LineKind.CREDIT:
                notes = [note] if (note := credit_refund(line.order_id)) else []
            else:
                notes = credit_price_drop(spec, line, result)
            result.credit_notes += [note.number for note in notes]
            # Built again even when nothing was issued: a concurrent close may have given
            # it back first, and this spec is stale then.
            tenants.add(spec.tenant_id)
    return tenants


def _close_batch(
    start: datetime, batch: list[int], audit: CloseAudit | None, grace_from: datetime | None
) -> CloseResult:
    """Draft one batch of tenants: its reads, then its writes in one transaction, so that a
    failure (a lost connection) leaves nothing of the batch and a retry redoes it whole.

    ``audit`` records what the batch changed in that transaction: once, with the writes it
    reports, and never for a batch that changed nothing (the same close run again, or
    retried by Celery after it had committed this batch)."""
    result = CloseResult(start, grace_from=grace_from)
    drafted = builder.build_drafts_of(batch, start)
    if credited := _credit_apart(drafted, result):
        again = builder.build_drafts_of(sorted(credited), start)
        drafted.update({tenant_id: again.get(tenant_id, {}) for tenant_id in credited})
    existing = set(_period_invoices(start, batch))
    accounts = {a.tenant_id: a for a in BillingAccount.objects.filter(tenant_id__in=batch)}
    tenants = Tenant.objects.in_bulk(batch)
    with transaction.atomic():  # one commit per batch; a failure rolls the batch back
        for tenant_id, currency in existing:
            if tenant_id in credited and currency not in drafted[tenant_id]:
                # What credit notes gave back was all it had: the draft goes (``_store_draft``).
                _store_draft(DraftSpec(tenant_id, currency, start, next_month(start)), result)
        for tenant_id, drafts in drafted.items():
            for spec in drafts.values():
                # A new draft is inserted directly; an existing one (or one a concurrent
                # close inserted meanwhile) goes the locked way that compares and rebuilds.
                if (tenant_id, spec.currency) in existing or not _create_draft(
                    spec, tenants[tenant_id], accounts.get(tenant_id), result
                ):
                    _store_draft(spec, result)
        if audit is not None and result.changed:
            audit.record(result)
    return result


def close_billing_period(
    period_start: datetime,
    *,
    audit: CloseAudit | None = None,
    grace_from: datetime | None = None,
) -> CloseResult:
    """Close the UTC month starting at ``period_start``: one draft per tenant and currency.

    Idempotent: a second run creates nothing; a draft still in its grace period is rebuilt
    when its lines would differ (late rollups, a refund), keeping finance's adjustments; a
    finalized invoice is left alone (what arrives later is late usage of the next close).
    A batch whose database connection is lost is redone on a new one (``CLOSE_ATTEMPTS``).
    With ``audit``, each batch that changed something records ``billing_period_closed``;
    with ``grace_from``, a new draft's grace runs from it (``CloseResult.grace_from``). A
    month that had ended when the close began is recorded closed (``ClosedMonth``) once every
    batch is done."""
    start = month_start(period_start)
    began = timezone.now()
    result = CloseResult(start, grace_from=grace_from)
    tenant_ids, result.retries = with_reconnect(
        lambda: builder.tenants_to_close(start),
        attempts=CLOSE_ATTEMPTS,
        pause_s=CLOSE_RETRY_PAUSE_S,
        what="month close (tenants)",
    )
    for first in range(0, len(tenant_ids), CLOSE_BATCH):
        batch = tenant_ids[first : first + CLOSE_BATCH]
        done, retries = with_reconnect(
            lambda batch=batch: _close_batch(start, batch, audit, grace_from),
            attempts=CLOSE_ATTEMPTS,
            pause_s=CLOSE_RETRY_PAUSE_S,
            what=f"month close (batch of {len(batch)} from tenant {batch[0]})",
        )
        result.created += done.created
        result.updated += done.updated
        result.unchanged += done.unchanged
        result.withdrawn += done.withdrawn
        result.credit_notes += done.credit_notes
        result.retries += retries
    if has_ended(start, began):
        ClosedMonth.objects.get_or_create(
            period_start=start, defaults={"closed_at": timezone.now()}
        )
    return result


# The hourly close audits a month it closes late, as finance's close on demand is audited.
_CAUGHT_UP = CloseAudit(forced=False, via="beat (a missed month)")


def _close_unasked(month: datetime, audit: CloseAudit | None = None) -> CloseResult:
    """A close the hourly job makes of its own accord. Nobody asked for a draft it makes, so
    finance gets a whole grace to read it from when it appears (``grace_from``), not from its
    month's end, which may be long over: a month it missed and catches up, the month that has
    just ended drafted after an outage of beat or the billing worker, a month drafted again
    after finance voided its invoice. Drafted on time, within the hour of the month's end,
    that is the month's grace less minutes. A close finance asks for (``close_period_now``)
    keeps the month's grace: "Finalize now" is theirs."""
    return close_billing_period(month, audit=audit, grace_from=timezone.now())


def close_ended_months(now: datetime | None = None) -> list[CloseResult]:
    """The hourly close (beat): every ended month of the last
    ``BILLING_CLOSE_CATCH_UP_MONTHS`` that no close has drafted yet (``ClosedMonth``: beat or
    the billing worker was down for all of the month after it), oldest first, then the month
    that has just ended, closed again while its drafts are in grace. Each is the close
    ``close_month --period`` makes (a month caught up audited as such), so a month's hours are
    its own invoice's, never late usage of a later one. Results oldest first, the month
    that has just ended last."""
    now = now or timezone.now()
    latest = last_closed_month(now)
    window = months_between(add_months(latest, 1 - settings.BILLING_CLOSE_CATCH_UP_MONTHS), latest)
    closed = set(
        ClosedMonth.objects.filter(period_start__in=window).values_list("period_start", flat=True)
    )
    results, failed = [], []
    for month in window[:-1]:
        if month in closed:
            continue
        try:
            result = _close_unasked(month, _CAUGHT_UP)
        except Exception as exc:  # one month that cannot be closed holds back no other
            logger.exception("month close: %s was never closed and failed", month_label(month))
            failed.append(exc)
            continue
        if result.drafted:  # a month with nothing to bill (before the first sale) is no news
            logger.warning(
                "month close: %s was never closed; closed it now: %s",
                month_label(month),
                result.summary(),
            )
        results.append(result)
    results.append(_close_unasked(latest))
    if failed:  # the task fails, and is seen failing, once the month just ended is drafted
        raise failed[0]
    return results


def close_period_now(
    period_start: datetime,
    *,
    force: bool = False,
    actor=None,
    request=None,
    via: str = "",
    now: datetime | None = None,
) -> CloseResult:
    """Finance (or a demo) closes a month on demand instead of waiting for the beat job: the
    same close, what it changes audited as ``billing_period_closed`` (``CloseAudit``: one
    event per batch that changed something, none when nothing changed, so a close run again
    or retried audits nothing twice). A month that has not ended is refused unless ``force``
    (its later usage then comes as late usage on next month's invoice); a month that has not
    started is always refused."""
    now = now or timezone.now()
    start = month_start(period_start)
    end = next_month(start)
    label = month_label(start)
    if start > now:
        raise PeriodNotEnded(f"{label} has not started yet: there is nothing to close.")
    ended = has_ended(start, now)
    if not ended and not force:
        raise PeriodNotEnded(
            f"{label} has not ended (it ends {end:%Y-%m-%d %H:%M} UTC). Closing it now drafts "
            "its usage so far; usage after that is billed as late usage next month. To do so "
            'anyway: manage.py close_month --force, or tick "has not ended yet" beside '
            "Close period now in the admin."
        )
    audit = CloseAudit(forced=not ended, via=via, actor=actor, request=request)
    return close_billing_period(start, audit=audit)


# --- drafts: adjustments ----------


def add_adjustment_line(
    invoice: Invoice,
    *,
    description: str,
    amount: int,
    form_token: UUID | None = None,
    actor=None,
    request=None,
) -> InvoiceLine:
    """Finance adds a line (positive or negative, minor units) to a draft. A negative one
    that would take the draft below zero (``InvoiceNegativeTotal``) or leave it asking less
    than its orders paid in advance (``AdjustmentBelowPrepaid``) is refused, nothing written:
    finalize would refuse the draft (``_finalize_refusal``), and an adjustment is never taken
    off again. So the admin form's one-time ``form_token`` is recorded with the line, one per
    invoice (a database constraint): the same form sent twice adds one line, the second
    sending refused as ``AdjustmentAlreadyAdded``, before any other refusal of it."""
    description = (description or "").strip()
    if not description or len(description) > builder.DESCRIPTION_MAX:
        raise InvalidAdjustment(
            f"An adjustment needs a description of at most {builder.DESCRIPTION_MAX} characters.",
            field="description",
        )
    if refusal := unprintable(description):
        raise InvalidAdjustment(f"The description {refusal}.", field="description")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount == 0:
        raise InvalidAdjustment(
            "The amount must be a non-zero whole number of minor units.", field="amount"
        )
    if abs(amount) > MAX_AMOUNT:
        raise InvalidAdjustment(
            f"The amount must be within ±{MAX_AMOUNT} minor units.", field="amount"
        )
    with transaction.atomic():
        invoice = locked(invoice, "tenant")
        _reject_sent_again(invoice, form_token)
        if invoice.status != InvoiceStatus.DRAFT:
            raise InvoiceNotDraft(
                f"Invoice {invoice.number} is finalized; correct it with a credit note."
            )
        if refusal := _adjusted_total_refusal(invoice, amount):
            raise refusal
        line = InvoiceLine.objects.create(
            invoice=invoice,
            position=invoice.lines.count(),
            kind=LineKind.ADJUSTMENT,
            description=description,
            quantity=1,
            unit_amount=amount,
            amount=amount,
            period_start=invoice.period_start,
            period_end=invoice.period_end,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
            form_token=form_token,
        )
        set_totals(invoice)
        invoice.save()
        record_invoice_event(
            "invoice_adjusted",
            invoice,
            amount=amount,
            description=description,
            line=line.pk,
            actor=actor,
            request=request,
        )
    return line


def _reject_sent_again(invoice: Invoice, form_token: UUID | None) -> None:
    """The locked invoice has the line this adjustment form added already (a second
    sending waits for the first's lock, then finds its line): finalized since, or lowered to
    zero by it, the sending is still the same line, and said so."""
    if form_token is None:
        return
    added = invoice.lines.filter(form_token=form_token).first()
    if added is not None:
        raise AdjustmentAlreadyAdded(
            f"This adjustment was already added ({added.description}, "
            f"{format_amount(added.amount, invoice.currency)}): its form was sent twice, and "
            "nothing was added the second time."
        )


def _adjusted_total_refusal(invoice: Invoice, amount: int) -> DomainError | None:
    """Why a locked draft cannot take an adjustment of ``amount``, or None. A negative one
    may not leave it below zero, the rule finalize asks of it (``_finalize_refusal``), nor
    leave it asking less than nothing: with orders paid in advance, what it asks is its total
    less their amount (``AdjustmentBelowPrepaid``). A positive one only helps, and passes even
    on a draft below zero already (its refunds)."""
    if amount > 0:
        return None
    lines = list(invoice.lines.values_list("amount", "is_paid"))
    sums = builder.totals([*lines, (amount, False)], invoice.tax_rate, invoice.reverse_charge)
    if sums.below_zero == "subtotal":
        subtotal = sums.subtotal - amount
        return InvoiceNegativeTotal(
            f"An adjustment of {format_amount(amount, invoice.currency)} would take draft "
            f"{invoice.pk} from {format_amount(subtotal, invoice.currency)} to "
            f"{format_amount(sums.subtotal, invoice.currency)} before tax, below zero: it "
            f"could never be finalized. {negative_total_refusal(sums.subtotal)}"
        )
    if sums.below_zero == "amount_due":
        return AdjustmentBelowPrepaid(
            f"An adjustment of {format_amount(amount, invoice.currency)} would leave draft "
            f"{invoice.pk} asking less than nothing "
            f"({format_amount(sums.amount_due, invoice.currency)}): its orders paid "
            f"{format_amount(sums.prepaid, invoice.currency)} in advance, and what it would "
            "owe back would be lost once finalized (paid, nothing due). Lower it by at most "
            "what it asks, and give the rest back by refunding an order."
        )
    return None


# --- finalize ----------


def _issue(invoice: Invoice, now: datetime, number: str | None = None) -> None:
    """Number, total and freeze a locked draft (within the caller's transaction); ``number``
    is given by a caller that drew it (and has set the totals) already."""
    if number is None:
        set_totals(invoice)
        number = next_number(invoice.kind, now.year)
    invoice.number = number
    invoice.finalized_at = now
    if invoice.amount_due > 0:
        invoice.status = InvoiceStatus.OPEN
    else:  # nothing to collect: credit notes, and invoices paid in advance or zero
        invoice.status, invoice.paid_at = InvoiceStatus.PAID, now
    invoice.save()
    # Robust hooks: in a batch finalize one failed publish (the broker down) must not drop the
    # others' hooks; a lost email or first charge is made by the beat jobs after a grace period.
    invoice_id = invoice.pk

    def announce_finalized() -> None:
        invoice_finalized.send(sender=Invoice, invoice_id=invoice_id)

    transaction.on_commit(announce_finalized, robust=True)
    invoice_emails.schedule_email(invoice)
    collection.schedule_collection(invoice)


def too_early_to_finalize(
    invoice: Invoice, now: datetime, closed: set[datetime] | None = None
) -> DomainError | None:
    """Why a draft cannot be finalized yet at ``now``, or None: its month has not ended
    (``PeriodNotEnded``), or no close that began after it ended has drafted it yet
    (``MonthNotClosed``; ``closed``: the months recorded closed among the drafts', read here
    when not given). A finalized month is never drafted again, so what it still sold (one-time
    orders, the fee of a plan bought later in it) would be billed nowhere: a draft made by a
    close forced before the month's end holds only what it had sold by then, until the
    hourly close (or finance's) drafts the month again after its end. Finance's page says it
    up front."""
    label = month_label(invoice.period_start)
    if not has_ended(invoice.period_start, now):
        return PeriodNotEnded(
            f"Draft {invoice.pk} is for {label}, which has not ended: it can be finalized from "
            f"{invoice.period_end:%Y-%m-%d %H:%M} UTC."
        )
    if closed is None:
        closed = _months_closed([invoice])
    if invoice.period_start in closed:
        return None
    return MonthNotClosed(
        f"Draft {invoice.pk} is for {label}, which has not been closed since it ended: a close "
        "forced before its end drafted it (or the month's close is still running), and what "
        f"{label} sold after that would be billed nowhere once it is finalized. The hourly "
        f"close drafts it again within the hour; or close {label} now (Close period now on "
        f"the finance Exports page, or manage.py close_month --period {label}), then finalize "
        "it."
    )


def _months_closed(invoices: Iterable[Invoice]) -> set[datetime]:
    """The months of ``invoices`` recorded closed (``ClosedMonth``), in one query."""
    months = {invoice.period_start for invoice in invoices}
    found = ClosedMonth.objects.filter(period_start__in=months)
    return set(found.values_list("period_start", flat=True))


@dataclass(frozen=True)
class FinalizePreview:
    """What ``finalize_invoice`` would do with a draft now: refuse it (``refusal``), or make
    its total ``total`` (on the account's tax terms now, as finalize takes them)."""

    refusal: DomainError | None
    total: int | None


def finalize_previews(
    invoices: Sequence[Invoice], now: datetime | None = None
) -> dict[int, FinalizePreview]:
    """``FinalizePreview`` of each of ``invoices`` (drafts), by id, read as finalizing reads
    them (``_finalize_reads``), in three queries whatever their number: unlocked, what a
    page says before asking; finalizing decides again under its locks."""
    now = now or timezone.now()
    reads = _finalize_reads(invoices)
    previews = {}
    for invoice in invoices:
        read = reads[invoice.pk]
        if refusal := _finalize_refusal(invoice, read, now):
            previews[invoice.pk] = FinalizePreview(refusal, None)
            continue
        account = read.account
        sums = builder.totals(read.amounts_paid, account.tax_rate, account.reverse_charge)
        previews[invoice.pk] = FinalizePreview(None, sums.total)
    return previews


@dataclass(frozen=True)
class _FinalizeReads:
    """What ``_finalize_refusal`` weighs of a draft besides the draft itself."""

    account: BillingAccount | None
    amounts_paid: list[tuple[int, bool]]
    closed: set[datetime]  # the months recorded closed among the drafts read together


_NOTHING_READ = _FinalizeReads(None, [], set())


def _finalize_reads(invoices: Iterable[Invoice]) -> dict[int, _FinalizeReads]:
    """What ``_finalize_refusal`` weighs of each of ``invoices``, by id: its tenant's billing
    account, the (amount, is_paid) of its lines and whether its month is recorded closed, in
    three queries whatever their number."""
    invoices = list(invoices)
    accounts = accounts_of(invoice.tenant_id for invoice in invoices)
    amounts: dict[int, list[tuple[int, bool]]] = {invoice.pk: [] for invoice in invoices}
    for invoice_id, amount, paid in InvoiceLine.objects.filter(
        invoice_id__in=list(amounts)
    ).values_list("invoice_id", "amount", "is_paid"):
        amounts[invoice_id].append((amount, paid))
    closed = _months_closed(invoices)
    return {
        invoice.pk: _FinalizeReads(accounts.get(invoice.tenant_id), amounts[invoice.pk], closed)
        for invoice in invoices
    }


def _finalize_refusal(
    invoice: Invoice | None, read: _FinalizeReads, now: datetime
) -> DomainError | None:
    """Why a locked invoice, with what ``_finalize_reads`` read of it, cannot be finalized at
    ``now``, or None: what both doors (``finalize_invoice``, ``finalize_invoices``) refuse."""
    if invoice is None or invoice.status != InvoiceStatus.DRAFT:
        return InvoiceNotDraft(
            f"Invoice {invoice.number} is already finalized." if invoice else "No such draft."
        )
    if too_early := too_early_to_finalize(invoice, now, read.closed):
        return too_early
    account, amounts_paid = read.account, read.amounts_paid
    if account is None:
        return BillingAccountMissing(
            f"Tenant {invoice.tenant} has no billing account: PUT /api/v1/billing/account "
            "with its legal name and address first."
        )
    if refusal := account_refusal(account):
        return BillingAccountNotIssuable(
            f"Tenant {invoice.tenant}'s billing account cannot be printed on an invoice: "
            f"{refusal} Correct it (PUT /api/v1/billing/account) first."
        )
    # On the tax terms finalize takes (the account's now: reverse charge turned on since an
    # adjustment was added lowers the total).
    sums = builder.totals(amounts_paid, account.tax_rate, account.reverse_charge)
    if sums.below_zero == "subtotal":
        return InvoiceNegativeTotal(
            f"Draft {invoice.pk} comes to {format_amount(sums.subtotal, invoice.currency)} "
            f"before tax, below zero. {negative_total_refusal(sums.subtotal)} If an adjustment "
            "took it there, reduce or remove it; a refund of an order whose invoice is still a "
            "draft is credited by the next close once that invoice is finalized."
        )
    if sums.below_zero == "amount_due":
        return AdjustmentBelowPrepaid(
            f"Draft {invoice.pk} would ask less than nothing "
            f"({format_amount(sums.amount_due, invoice.currency)}): its orders paid "
            f"{format_amount(sums.prepaid, invoice.currency)} in advance, and finalized it "
            "would read 'paid, nothing due' while the excess, owed back, is recorded nowhere. "
            "Add a positive adjustment to bring it to zero, and give the excess back by "
            "refunding an order."
        )
    return None


def finalize_invoice(invoice: Invoice, *, actor=None, request=None, now=None) -> Invoice:
    """Give a draft its number and make it and its lines immutable (finance may do it before
    ``finalize_after``; the beat job does it after)."""
    now = now or timezone.now()
    with transaction.atomic():
        invoice = locked(invoice, "tenant")
        read = _finalize_reads([invoice])[invoice.pk]
        if refusal := _finalize_refusal(invoice, read, now):
            raise refusal
        _freeze_parties(invoice, read.account)
        set_totals(invoice, read.amounts_paid)
        _issue(invoice, now, number=next_number(invoice.kind, now.year))
        record_invoice_event(
            "invoice_finalized",
            invoice,
            total=invoice.total,
            currency=invoice.currency,
            actor=actor,
            request=request,
        )
    return invoice


@dataclass
class FinalizeRun:
    finalized: list[str] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)


FINALIZE_BATCH = 200


def finalize_due_invoices(now: datetime | None = None) -> FinalizeRun:
    """Finalize every draft whose grace period is over; one that cannot be (no billing
    account) stays a draft and is reported, the others go on."""
    now = now or timezone.now()
    run = FinalizeRun()
    due = Invoice.objects.filter(status=InvoiceStatus.DRAFT, finalize_after__lte=now)
    ids = list(due.order_by("finalize_after", "id").values_list("id", flat=True))
    for first in range(0, len(ids), FINALIZE_BATCH):
        batch = finalize_invoices(ids[first : first + FINALIZE_BATCH], now=now)
        run.finalized.extend(batch.finalized)
        run.refused.update(batch.refused)
    return run


def finalize_invoices(invoice_ids: Iterable[int], *, now: datetime | None = None) -> FinalizeRun:
    """Finalize many drafts, in the given order, in one transaction (the beat job): what
    ``finalize_invoice`` does for each, with the drafts, their accounts and line totals read
    at once and each series' counter locked once and written once.

    Every check is made before anything is written: an invoice no longer a draft, or whose
    tenant has no billing account, is reported in ``refused`` and stays as it is, the others
    go on; a number is drawn only for an invoice that is issued, so the series stays gapless
    (a database error rolls the whole batch back, numbers included).

    The documents and charges of the batch are queued when it commits, counted together
    (one write of the task counters for the batch, not one commit per task sent)."""
    now = now or timezone.now()
    ids = list(invoice_ids)
    run = FinalizeRun()
    with counted_together(), transaction.atomic():
        rows = Invoice.objects.select_for_update(of=("self",)).select_related("tenant")
        invoices = rows.in_bulk(ids)
        reads = _finalize_reads(invoices.values())
        counters: dict[str, InvoiceNumberSequence] = {}
        for invoice_id in ids:
            invoice = invoices.get(invoice_id)
            read = reads.get(invoice_id, _NOTHING_READ)
            if refusal := _finalize_refusal(invoice, read, now):
                run.refused[invoice_id] = refusal.code
                continue
            _freeze_parties(invoice, read.account)
            set_totals(invoice, read.amounts_paid)
            series = SERIES[invoice.kind]
            if series not in counters:
                counters[series], _ = (
                    InvoiceNumberSequence.objects.select_for_update().get_or_create(
                        series=series, year=now.year
                    )
                )
            counter = counters[series]
            counter.last += 1
            _issue(invoice, now, number=_number(series, now.year, counter.last))
            record_invoice_event(
                "invoice_finalized", invoice, total=invoice.total, currency=invoice.currency
            )
            run.finalized.append(invoice.number)
        for counter in counters.values():
            counter.save(update_fields=["last"])
    return run


# --- corrections ----------


def void_invoice(invoice: Invoice, *, reason: str, actor=None, request=None) -> Invoice:
    """Cancel a finalized invoice nobody paid; its number stays used (gapless series). Voiding
    an uncollectible one gives back the entitlements suspended for it, unless another invoice
    of the tenant is uncollectible too. Refused while a card charge of it is still processing
    (``payments.refuse_while_awaited``): its success would take money for a void invoice."""
    reason = require_reason(reason, max_length=Invoice._meta.get_field("void_reason").max_length)
    with transaction.atomic():
        invoice = locked(invoice, "tenant")
        if not invoice.is_voidable:
            raise InvoiceNotVoidable(
                f"Invoice {invoice.number or invoice.pk} is {invoice.status} "
                f"({invoice.kind}); only finalized, unpaid invoices can be voided."
                if not invoice.is_unpaid
                else f"Invoice {invoice.number} has credit notes: correct it with another."
            )
        payments.refuse_while_awaited(
            invoice,
            then="Void it once the charge has failed (if it succeeds, the invoice is paid: "
            "correct it with a credit note).",
        )
        was_uncollectible = invoice.status == InvoiceStatus.UNCOLLECTIBLE
        invoice.status = InvoiceStatus.VOID
        invoice.voided_at = timezone.now()
        invoice.void_reason = reason
        invoice.next_payment_attempt_at = None
        invoice.save()
        record_invoice_event("invoice_voided", invoice, reason=reason, actor=actor, request=request)
        if was_uncollectible:
            collection.lift_suspension(invoice)
    return invoice


def resend_recipients(invoice: Invoice) -> list[str]:
    """Whom ``resend_invoice_email`` would email ``invoice`` to (``invoice_recipients``: the
    billing account's invoice emails now, else those it was issued to), or the DomainError
    why it would not: a draft or a void invoice has no document, and an invoice may have
    nobody to email."""
    found = resend_recipients_of([invoice])[invoice.pk]
    if isinstance(found, DomainError):
        raise found
    return found


def resend_recipients_of(invoices: Sequence[Invoice]) -> dict[int, list[str] | DomainError]:
    """``resend_recipients`` of each of ``invoices``, by id: whom it would be emailed to, or
    the DomainError why not; the billing accounts read in one query whatever their number.
    What finance's resend page lists before it asks."""
    # Not a draft's, nor a void invoice's (``require_document``).
    refusals = {invoice.pk: invoice_documents.document_refusal(invoice) for invoice in invoices}
    emailed = [invoice for invoice in invoices if refusals[invoice.pk] is None]
    recipients = invoice_documents.recipients_of(emailed)
    found: dict[int, list[str] | DomainError] = {}
    for invoice in invoices:
        if refusals[invoice.pk] is not None:
            found[invoice.pk] = refusals[invoice.pk]
        elif recipients[invoice.pk]:
            found[invoice.pk] = recipients[invoice.pk]
        else:
            found[invoice.pk] = InvoiceHasNoRecipients(
                f"Invoice {invoice.number} has nobody to email: its tenant's billing account "
                "has no invoice emails (PUT /api/v1/billing/account with invoice_emails)."
            )
    return found


def resend_invoice_email(invoice: Invoice, *, actor=None, request=None) -> list[str]:
    """Email a finalized invoice or credit note again, with its PDF, to its recipients
    (``resend_recipients``); returns them. The resend is audited first and the email queued
    after it, in one transaction. An event that cannot be written raises before anything is
    queued (nothing sent); the broker refusing the email raises ``BrokerUnavailable`` and
    rolls the event back. The email is published before the commit (not on it, where a
    refusal could not undo the event): its task reads only the invoice, committed already.
    One window is left: the broker took the email and the commit then failed (a lost
    connection), so it is sent with no event."""
    recipients = resend_recipients(invoice)
    with transaction.atomic():
        record_invoice_event(
            "invoice_email_resent", invoice, recipients=recipients, actor=actor, request=request
        )
        invoice_emails.queue_resend(invoice)
    return recipients


# A credit note corrects its invoice on the invoice's own terms: same buyer, seller, period,
# currency and tax.
CREDIT_NOTE_TAKES_OVER = (
    "tenant",
    "currency",
    "period_start",
    "period_end",
    "account_snapshot",
    "tax_rate",
    "reverse_charge",
)


def credited_so_far(line: InvoiceLine, *, refund_lines: bool = True) -> int:
    """What credit notes gave back of ``line`` (``credited_of``)."""
    return credited_of([line], refund_lines=refund_lines)[line.pk]


def credited_of(lines: Sequence[InvoiceLine], *, refund_lines: bool = True) -> dict[int, int]:
    """What credit notes gave back of each of ``lines`` (of invoices, not credit notes), by
    id, in three queries whatever their number. A month's refund line (a ``credit`` line: a
    one-time order's price given back on the order's own payment) counts as given back in
    full: a credit note never takes a refund back. With ``refund_lines``, so does a one-time
    order's line once its refund is such a line of a month (refunded while this invoice was a
    draft: ``credit_refund``), so a credit note never gives the order back twice. An order
    paid and refunded in one month has both lines on its invoice, cancelling out: each counts
    as given back in full, so a credit note leaves the pair alone."""
    orders = {line.order_id for line in lines if line.order_id is not None}
    # (invoice, order) of the refund lines on the invoices of ``lines``.
    refunded_beside = set(
        InvoiceLine.objects.filter(
            invoice_id__in={line.invoice_id for line in lines},
            invoice__kind=InvoiceKind.INVOICE,
            order_id__in=orders,
            kind=LineKind.CREDIT,
        ).values_list("invoice_id", "order_id")
    )
    refunded_in_a_month = (
        set(_month_refund_lines(orders).values_list("order_id", flat=True))
        if refund_lines
        else set()
    )
    given = dict(
        InvoiceLine.objects.filter(
            credited_line__in=[line.pk for line in lines],
            invoice__kind=InvoiceKind.CREDIT_NOTE,
        )
        .exclude(invoice__status=InvoiceStatus.VOID)
        .order_by()
        .values("credited_line")
        .annotate(given=Sum("amount"))
        .values_list("credited_line", "given")
    )
    credited = {}
    for line in lines:
        if line.kind == LineKind.CREDIT or (
            line.kind == LineKind.ONE_TIME_ORDER
            and (
                (line.invoice_id, line.order_id) in refunded_beside
                or line.order_id in refunded_in_a_month
            )
        ):
            credited[line.pk] = line.amount
        else:
            credited[line.pk] = -given.get(line.pk, 0)
    return credited


def creditable_of(
    lines: Sequence[InvoiceLine],
    *,
    refund_lines: bool = True,
    credited: dict[int, int] | None = None,
    held: dict[tuple[int, datetime], int] | None = None,
) -> dict[int, int]:
    """What a credit note of ``lines`` (of one invoice) may still give back of each, by id:
    what credit notes and refund lines did not (``credited_of``, or ``credited`` when the
    caller read it already), and of a usage line at most what its entitlement's month still
    holds (``_usage_held``, or ``held`` when the caller read it already), shared out in order
    among the lines of that month: a later month that carried a lower price of it (a
    negative ``late_usage`` line) gave that much back already, as a credit note of the drop
    would have."""
    if credited is None:
        credited = credited_of(lines, refund_lines=refund_lines)
    # A copy: what is shared out here is this invoice's, not the next one's of a batch.
    held = _usage_held(lines) if held is None else dict(held)
    left = {}
    for line in lines:
        rest = line.amount - credited[line.pk]
        key = (line.entitlement_id, line.period_start)
        if line.kind in builder.BILLED_USAGE_KINDS and rest > 0:
            rest = min(rest, max(held[key], 0))
            held[key] -= rest
        left[line.pk] = rest
    return left


def _usage_held(lines: Sequence[InvoiceLine]) -> dict[tuple[int, datetime], int]:
    """What is still held of the usage of each (entitlement, month) ``lines`` charge
    (``invoice_builder.USAGE_HELD_LINES``), in one query."""
    months = {
        (line.entitlement_id, line.period_start)
        for line in lines
        if line.kind in builder.BILLED_USAGE_KINDS
    }
    if not months:
        return {}
    which = Q(pk__in=[])
    for entitlement_id, month in months:
        which |= Q(entitlement_id=entitlement_id, period_start=month)
    rows = (
        InvoiceLine.objects.filter(builder.USAGE_HELD_LINES, which)
        .order_by()
        .values("entitlement_id", "period_start")
        .annotate(held=Sum("amount"))
    )
    return {(row["entitlement_id"], row["period_start"]): row["held"] for row in rows}


def _month_refund_lines(order_ids: Iterable[int]):
    """The ``credit`` lines giving back the refunds of ``order_ids`` on invoices (drafts
    included) that are not void."""
    return InvoiceLine.objects.filter(
        live_invoice_filter("invoice__"), order_id__in=order_ids, kind=LineKind.CREDIT
    )


def _credit_line_ids(line_ids: Iterable[int | str]) -> set[int]:
    """The ids of the chosen lines to credit, as a door gives them (the admin's form posts
    strings): at least one, each a whole number."""
    wanted = set()
    for pk in line_ids:
        if isinstance(pk, str) and (number := ascii_integer(pk)) is not None:
            pk = number
        if isinstance(pk, bool) or not isinstance(pk, int):
            raise InvalidCreditLine(f"Unknown line {pk!r}: lines are named by their id.")
        wanted.add(pk)
    if not wanted:
        raise NoLinesChosen("Choose the lines to credit.")
    return wanted


@dataclass(frozen=True)
class _Credit:
    """What a credit note gives back of one line of the invoice it corrects: ``amount``
    (minor units, before tax, as the line counts it). A credit of what late usage took off
    the month's usage price (``credit_price_drop``) says so in its ``description`` and keeps
    the late agent-seconds (``usage_seconds``) as billed."""

    line: InvoiceLine
    amount: int
    description: str = ""
    usage_seconds: int | None = None

    def as_line(self, note: Invoice, position: int, actor) -> InvoiceLine:
        line = self.line
        whole = self.amount == line.amount  # nothing credited before: its quantity and price
        return InvoiceLine(
            invoice=note,
            position=position,
            kind=LineKind.CREDIT,
            description=shortened(
                f"Credit for {line.invoice.number}: {self.description or line.description}",
                builder.DESCRIPTION_MAX,
            ),
            entitlement_id=line.entitlement_id,
            order_id=line.order_id,
            credited_line=line,
            quantity=line.quantity if whole else 1,
            unit_amount=-line.unit_amount if whole else -self.amount,
            amount=-self.amount,
            period_start=line.period_start,
            period_end=line.period_end,
            usage_seconds=self.usage_seconds,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )


def _credit_note_total_refusal(
    invoice: Invoice, credits: list[_Credit]
) -> InvoiceNegativeTotal | None:
    """Why a credit note giving back these would be a document that cannot be produced, or
    None: one whose lines come to less than zero (only negative lines chosen: an adjustment,
    a refund's credit line) gives back less than nothing, and its document, printed
    positive, would total below zero (the rule ``_finalize_refusal`` asks of a draft)."""
    given_back = sum(credit.amount for credit in credits)  # its document's subtotal
    if refusal := negative_total_refusal(given_back):
        return InvoiceNegativeTotal(
            f"These lines of {invoice.number} come to "
            f"{format_amount(given_back, invoice.currency)} before tax: a credit note of them "
            f"would give back less than nothing. {refusal} Credit them with the lines they "
            "reduce, or not at all."
        )
    return None


def issue_credit_note(
    invoice: Invoice,
    *,
    line_ids: Iterable[int | str] | None = None,
    reason: str = "",
    actor=None,
    request=None,
    replaces_refund_line: bool = False,
) -> Invoice:
    """A finalized credit note (series CN) giving back the chosen lines (``line_ids``: at
    least one), or all of them (``None``), for what was not credited yet. The original
    invoice is never changed. A one-time order whose refund is a ``credit`` line of a month
    counts as credited already, but for ``credit_refund`` (``replaces_refund_line``), which
    gives such a refund back by this note instead when its month's draft would be below zero.

    Refused before anything is numbered or written: a credit note whose document would total
    below zero (``InvoiceNegativeTotal``), and one that would lower what an unpaid invoice
    asks while a card charge of it is still processing (``payments.refuse_while_awaited``:
    the charge was made for the whole amount due, and its success would be recorded as
    paying the lowered one)."""
    # Optional here (a credit note is also how a paid invoice is corrected), but never cut.
    reason = optional_reason(reason, max_length=CREDIT_REASON_MAX)
    wanted = None if line_ids is None else _credit_line_ids(line_ids)
    with transaction.atomic():
        invoice = locked(invoice, "tenant")
        _reject_not_creditable(invoice)
        lines = list(invoice.lines.select_related("order"))
        if wanted is not None:
            lines = [line for line in lines if line.pk in wanted]
            if len(lines) != len(wanted):
                raise InvoiceNotCreditable(f"Not all lines belong to invoice {invoice.number}.")
        credits = _credits(lines, replaces_refund_line=replaces_refund_line)
        return _issue_note(invoice, credits, reason=reason, actor=actor, request=request)


def whole_invoice_credits(invoices: Sequence[Invoice]) -> dict[int, int | DomainError]:
    """What a credit note of the whole invoice (``issue_credit_note`` without ``line_ids``)
    would give back now, its tax included, for each of ``invoices``, by id; or the
    DomainError it would refuse with, but a charge still processing. Their lines and what was
    given back of them read at once, in a few queries whatever their number, without
    locking: for finance's page that asks before issuing."""
    creditable = [invoice for invoice in invoices if invoice.is_creditable]
    lines: dict[int, list[InvoiceLine]] = {invoice.pk: [] for invoice in creditable}
    for line in InvoiceLine.objects.filter(invoice__in=creditable).select_related("order"):
        lines[line.invoice_id].append(line)
    every_line = [line for of_one in lines.values() for line in of_one]
    credited = credited_of(every_line)
    held = _usage_held(every_line)
    given: dict[int, int | DomainError] = {}
    for invoice in invoices:
        try:
            _reject_not_creditable(invoice)
            credits = _credits(lines[invoice.pk], credited=credited, held=held)
            if refusal := _credit_note_total_refusal(invoice, credits):
                raise refusal
        except DomainError as refused:
            given[invoice.pk] = refused
        else:
            given[invoice.pk] = -_note_totals(invoice, credits).total
    return given


def _reject_not_creditable(invoice: Invoice) -> None:
    if not invoice.is_creditable:
        raise InvoiceNotCreditable(
            f"Invoice {invoice.number} is void already."
            if invoice.status == InvoiceStatus.VOID
            else "Credit notes correct finalized invoices only."
        )


def _credits(
    lines: list[InvoiceLine],
    *,
    replaces_refund_line: bool = False,
    credited: dict[int, int] | None = None,
    held: dict[tuple[int, datetime], int] | None = None,
    refunding: bool = False,
) -> list[_Credit]:
    """What a credit note of ``lines`` gives back of each (``creditable_of``; a month's refund
    lines count as given back unless ``replaces_refund_line``); refused when that is nothing,
    or when it would give back a one-time order not refunded (but ``refunding``: the orders
    are about to be, ``refund_credits``). ``credited`` and ``held`` are ``credited_of`` and
    ``_usage_held`` of these lines (and others) when the caller read them already."""
    if credited is None:
        credited = credited_of(lines, refund_lines=not replaces_refund_line)
    creditable = creditable_of(lines, credited=credited, held=held)
    credits = [_Credit(line, creditable[line.pk]) for line in lines if creditable[line.pk]]
    if not credits:
        refusal = "These lines are credited in full already."
        if any(line.amount != credited[line.pk] for line in lines):  # not by credit notes
            refusal += " A later month's lower price of their usage gave the rest back."
        raise InvoiceNotCreditable(refusal)
    if not refunding:
        _reject_unrefunded_orders(credits)
    return credits


def _note_totals(invoice: Invoice, credits: list[_Credit]):
    """The credit note's own totals (negative), its VAT rounded on its own lines."""
    return builder.totals(
        ((-credit.amount, False) for credit in credits), invoice.tax_rate, invoice.reverse_charge
    )


def _reject_unrefunded_orders(credits: list[_Credit]) -> None:
    """A one-time order's line is given back by refunding the order: its price went back
    on the order's own payment, the entitlement ends, and ``credit_refund`` credits the line
    with its tax. A credit note of the line alone would say the price was given back while
    nobody refunded it, and leave the entitlement on."""
    orders = sorted(
        {
            credit.line.order_id
            for credit in credits
            if credit.line.kind == LineKind.ONE_TIME_ORDER
            and credit.line.order.status != OrderStatus.REFUNDED
        }
    )
    if orders:
        named = ", ".join(str(pk) for pk in orders)
        raise OrderNotRefunded(
            f"Order {named} was paid at checkout: refund it (Orders, Refund in full), which "
            "gives its price back and credits its line with the tax. Credit the other lines "
            "by choosing them."
        )


def credit_money_taken_back(invoice: Invoice, amount: int, *, reason: str) -> Invoice | None:
    """The credit note of the locked, paid ``invoice`` for ``amount`` (minor units, tax
    included) its card payment gave back outside EdgePlug (a refund made in Stripe's
    dashboard, a chargeback lost): the lines not paid before the invoice, credited in
    proportion to what is left of each, for a total (tax included) of ``amount``
    (``_credits_totalling``), and ``refund_amount`` what Stripe gave back (at most what the
    invoice took less what earlier notes paid back: ``money_back.held``), so payouts count it
    as a refund and a later note never pays it back again. All that is left of them when
    ``amount`` reaches their total, or all the invoice still held: what a three-decimal
    currency's invoice took is its total rounded down (``rounding_amount``), and all of it
    given back is the whole invoice, credited no more. None when nothing is left to credit.
    The caller records how the money went back."""
    lines = [line for line in invoice.lines.select_related("order") if not line.is_paid]
    left = creditable_of(lines)
    whole = [_Credit(line, left[line.pk]) for line in lines if left[line.pk]]
    total = -_note_totals(invoice, whole).total if whole else 0
    if total <= 0:
        return None
    held = money_back.held(invoice)
    if amount >= total or 0 < held <= amount:
        credits = whole
    else:
        credits = _credits_totalling(invoice, whole, total, amount)
    if not credits or _credit_note_total_refusal(invoice, credits):
        return None
    paid_back = money_back.owed(invoice, amount, last=False)
    return _issue_note(
        invoice, credits, reason=reason, actor=None, request=None, paid_back=paid_back
    )


def _credits_totalling(
    invoice: Invoice, whole: list[_Credit], total: int, amount: int
) -> list[_Credit]:
    """Of ``whole`` (what is left of each line, coming to ``total`` with its tax, more than
    ``amount``), the credits whose note totals ``amount``, tax included (``_note_totals``,
    the one rule of a note's totals): the largest share of them (``_shares``) whose note does
    not total more.
    The note's VAT is rounded on its subtotal, so one more minor unit before tax can add two
    with its tax: an ``amount`` no note can total (about 1 in 6 at 19 % VAT: 3.35 EUR, say) is
    then credited one minor unit short (3.34), never more than what went back; the note that
    credits the rest then credits a minor unit more than it pays back."""
    whole_subtotal = sum(credit.amount for credit in whole)

    def credited(subtotal: int) -> int:
        return -_note_totals(invoice, _shares(whole, subtotal)).total

    # In proportion first, then a minor unit at a time to the note totalling ``amount``.
    subtotal = whole_subtotal * amount // total
    while subtotal > 0 and credited(subtotal) > amount:
        subtotal -= 1
    while subtotal < whole_subtotal and credited(subtotal + 1) <= amount:
        subtotal += 1
    return _shares(whole, subtotal)


def _shares(whole: list[_Credit], subtotal: int) -> list[_Credit]:
    """``subtotal`` (at most what ``whole`` comes to) shared among the lines of ``whole`` in
    proportion to what is left of each: each share rounded down, then the minor units left
    over one each to the largest remainders, so none is credited beyond what is left of it.
    The lines whose share is nothing are left out."""
    whole_subtotal = sum(credit.amount for credit in whole)
    parts = [divmod(credit.amount * subtotal, whole_subtotal) for credit in whole]
    amounts = [share for share, _ in parts]
    over = subtotal - sum(amounts)
    for at in sorted(range(len(parts)), key=lambda at: parts[at][1], reverse=True)[:over]:
        amounts[at] += 1
    return [
        _Credit(credit.line, amount)
        for credit, amount in zip(whole, amounts, strict=True)
        if amount
    ]


def _issue_note(
    invoice: Invoice,
    credits: list[_Credit],
    *,
    reason: str,
    actor,
    request,
    paid_back: int | None = None,
):
    """Number and write the credit note of the locked ``invoice`` giving back ``credits``,
    and take what it gives back off what the invoice asks (``collection.apply_credit``). In
    the caller's transaction. ``paid_back``: what the note records as given back, when the
    money went back otherwise than its lines say (``credit_money_taken_back``)."""
    if refusal := _credit_note_total_refusal(invoice, credits):
        raise refusal
    now = timezone.now()
    money = _note_money(invoice, credits)
    if paid_back is not None:
        money = _NoteMoney(total=money.total, taken_off=money.taken_off, paid_back=paid_back)
    note = Invoice.objects.create(
        kind=InvoiceKind.CREDIT_NOTE,
        credit_of=invoice,
        finalize_after=now,
        applied_amount=money.taken_off,
        refund_amount=money.paid_back,
        **{name: getattr(invoice, name) for name in CREDIT_NOTE_TAKES_OVER},
    )
    InvoiceLine.objects.bulk_create(
        credit.as_line(note, position, actor) for position, credit in enumerate(credits)
    )
    _issue(note, now)
    record_invoice_event(
        "credit_note_issued",
        invoice,
        credit_note=note.number,
        total=note.total,
        lines=[credit.line.pk for credit in credits],
        reason=reason,
        actor=actor,
        request=request,
    )
    collection.apply_credit(invoice, note, now=now, actor=actor, request=request)
    money_back.pay_back(invoice, note, actor=actor, request=request)
    return note


@dataclass(frozen=True)
class _NoteMoney:
    """What a credit note of an invoice does with money (minor units): ``total`` is what it
    credits, tax included (positive); of it, an unpaid invoice's note takes ``taken_off``
    off what the invoice asks (``collection.apply_credit``), a paid invoice's pays
    ``paid_back`` back (``billing.money_back``). The rest went back before: the price of
    the lines paid before the invoice (one-time orders), on their own refund."""

    total: int
    taken_off: int
    paid_back: int


def _note_money(
    invoice: Invoice,
    credits: list[_Credit],
    *,
    also: Sequence[_Credit] = (),
    also_paid_back: int = 0,
) -> _NoteMoney:
    """What a credit note of ``invoice`` giving back ``credits`` does with money; refused
    (``PaymentPending``) when it would lower what the invoice asks while a card charge of it
    is processing. ``also`` and ``also_paid_back`` are what notes not issued yet before it
    would credit and pay back (``refund_credits``' preview)."""
    # What it gives back of the amount due: all it credits, tax included, but the lines
    # paid before the invoice (one-time orders: their refund gave that money back), as
    # the amount due is the total less those lines.
    total = -_note_totals(invoice, credits).total
    credit = total - sum(credit.amount for credit in credits if credit.line.is_paid)
    # Each note's VAT is rounded on its own lines, the invoice's on all of them: the notes
    # together may give back a minor unit or two less than it asks. The note that credits
    # the last line gives back all that is left: nothing stays due (unpaid), or all the
    # invoice took goes back (paid, ``money_back.owed``).
    last = _credits_the_rest(invoice, [*also, *credits])
    if invoice.is_unpaid and last:
        credit = max(credit, invoice.amount_due)
    if invoice.is_unpaid and credit > 0:
        payments.refuse_while_awaited(
            invoice,
            then="Credit it (or refund the order) once the charge's outcome is known: "
            "if it succeeds, the invoice is paid and its credit note is money owed back.",
        )
    return _NoteMoney(
        total=total,
        taken_off=collection.credit_taken_off(invoice, credit),
        paid_back=money_back.owed(invoice, credit, last=last, also_paid_back=also_paid_back),
    )


def _credits_the_rest(invoice: Invoice, credits: list[_Credit]) -> bool:
    """Whether, with ``credits``, every line of ``invoice`` is credited in full by credit
    notes. An order's line whose refund is a later month's ``credit`` line is not: that line
    gave the order back (its tax too) on its own invoice, so what this invoice still asks for
    it (the tax on an order paid at checkout before tax) stays asked, never taken off twice."""
    given = {credit.line.pk: credit.amount for credit in credits}
    lines = list(invoice.lines.all())
    credited = credited_of(lines, refund_lines=False)
    return all(line.amount == given.get(line.pk, 0) + credited[line.pk] for line in lines)


@receiver(order_refunded, dispatch_uid="billing.invoicing.credit_refund")
def _on_order_refunded(sender, order_id: int, actor=None, request=None, **kwargs):
    return credit_refund(order_id, actor=actor, request=request)


def credit_refund(order_id: int, *, actor=None, request=None) -> Invoice | None:
    """The credit note giving back a refunded one-time order, issued on the terms of the
    finalized invoice that charged it (its tax included); None when there is none yet (the
    order's month is still a draft, or its invoice's charge is processing: the refund is then
    a ``credit`` line of its own month) or a credit note gave the order back already."""
    charge = _refund_charge(order_id)
    if charge is None:
        return None
    try:
        with transaction.atomic():
            # Credit notes of one invoice are issued one at a time (``issue_credit_note``
            # locks it too): a second refund door, or a second close, finds the first note.
            locked(charge.invoice)
            if _refund_given_back(order_id):
                return None
            return issue_credit_note(
                charge.invoice,
                line_ids=[charge.pk],
                reason=f"Order {order_id} refunded",
                actor=actor,
                request=request,
                replaces_refund_line=True,
            )
    except PaymentPending:
        # The invoice's card charge awaits its outcome, and no credit note lowers what it
        # asks meanwhile. The refund stands (its money went back: finance's, or Stripe's
        # own, which cannot be refused): with no credit note, it is a ``credit`` line of
        # the month it was given, as a refund of an order still on a draft is.
        logger.info("order %s refunded while its invoice's charge is processing", order_id)
        return None


def _refund_charge(order_id: int) -> InvoiceLine | None:
    """The line of the finalized invoice that charged the one-time order (with its
    invoice), which a credit note gives back when it is refunded; None when there is none."""
    return (
        InvoiceLine.objects.filter(
            order_id=order_id,
            kind=LineKind.ONE_TIME_ORDER,
            invoice__in=Invoice.objects.charging_order(order_id),
        )
        .select_related("invoice")
        .first()
    )


def _refund_given_back(order_id: int) -> bool:
    """Whether the order's refund was given back already: by a credit note, or as a line of
    a finalized month."""
    return (
        builder.credit_note_lines(order_id).exists()
        or _month_refund_lines([order_id]).exclude(invoice__status=InvoiceStatus.DRAFT).exists()
    )


@dataclass(frozen=True)
class RefundCredit:
    """What the credit note ``credit_refund`` issues when a one-time order is refunded
    gives back (minor units of ``currency``): it credits ``total`` of invoice ``invoice``
    (its number), the order's price and the VAT the invoice charged on it; the price goes
    back on the order's own refund, and of the rest ``paid_back`` is paid back (the invoice
    is paid: to the card that paid it when ``to_card``, else by bank transfer) or
    ``taken_off`` comes off what the unpaid invoice asks."""

    invoice: str
    currency: str
    total: int
    paid_back: int
    taken_off: int
    to_card: bool


def refund_credits(order_ids: Sequence[int]) -> dict[int, RefundCredit]:
    """What ``credit_refund`` would issue were the (completed) orders refunded now, one
    after the other in the order given, by order id: the notes of one invoice each as the
    ones before leave it. An order with none (not on a finalized invoice yet, given back
    already, or its invoice's card charge processing: its refund is then a ``credit`` line
    of its month) is left out. Reads without locking, for finance's page that asks before
    refunding."""
    given: dict[int, RefundCredit] = {}
    before: dict[int, tuple[Invoice, list[_Credit], int]] = {}  # by invoice: notes so far
    for order_id in order_ids:
        charge = _refund_charge(order_id)
        if charge is None or _refund_given_back(order_id):
            continue
        invoice, credited, paid_back = before.get(charge.invoice_id, (charge.invoice, [], 0))
        try:
            credits = _credits([charge], replaces_refund_line=True, refunding=True)
            money = _note_money(invoice, credits, also=credited, also_paid_back=paid_back)
        except (InvoiceNotCreditable, PaymentPending):
            continue
        given[order_id] = RefundCredit(
            invoice=invoice.number,
            currency=invoice.currency,
            total=money.total,
            paid_back=money.paid_back,
            taken_off=money.taken_off,
            to_card=bool(money.paid_back and invoice.intent_that_paid),
        )
        if collection.take_credit_off(invoice, money.taken_off):
            invoice.status = InvoiceStatus.PAID  # settled, as ``apply_credit`` settles it
        before[charge.invoice_id] = (invoice, [*credited, *credits], paid_back + money.paid_back)
    return given


def credit_price_drop(spec: DraftSpec, line: LineSpec, result: CloseResult) -> list[Invoice]:
    """Credit notes giving back what late usage took off its month's usage price: ``line``,
    a negative ``late_usage`` line that ``spec``'s month cannot carry (``_given_back_apart``).

    Given back by the finalized invoices that charged that entitlement's month (its usage
    line, and late usage billed since), the latest charge first, each for at most what no
    credit note gave back of it yet, on that invoice's terms (its tax included). The first
    note keeps the late agent-seconds, so they count as billed and no close bills them again.
    Nothing when the month no longer asks it (another close gave it back, or finance
    finalized it meanwhile), while an invoice that charged the month is still a draft, or
    while one has a card charge processing: the line stays on its month's draft (not
    finalized below zero) and a later close tries again. When notes are issued, the month's
    draft is built again in their transaction (``result`` counts it), before its lock goes:
    finalized with the line the notes gave back, it would give it back twice."""
    own = list(
        _month_invoices(spec.tenant_id, spec.currency, spec.period_start).values_list(
            "pk", flat=True
        )
    )
    try:
        with transaction.atomic():
            # The charging invoices and the month's own draft, locked in one order (finance's
            # credit note, finalize and the dunning lock the one they change first, then
            # what refers to it): a second close waits here, then finds the line gone from
            # its month (the first's note billed its seconds).
            ids = {charge.invoice_id for charge in _charges_of(spec, line)}.union(own)
            held = {pk: locked(Invoice(pk=pk), "tenant") for pk in sorted(ids)}
            if any(held[pk].status != InvoiceStatus.DRAFT for pk in own):
                return []  # finalized meanwhile: it carries what it has
            if line not in getattr(_rebuilt(spec), "lines", ()):
                return []
            charges = _charges_of(spec, line)  # again, under the locks: credited since
            if any(charge.invoice_id not in held for charge in charges) or any(
                held[charge.invoice_id].status == InvoiceStatus.DRAFT for charge in charges
            ):
                return []
            before, now = (line.breakdown[part]["total"] for part in ("billed_before", "now"))
            why = (
                f"{line.description}: its usage price fell from "
                f"{format_amount(before, spec.currency)} to {format_amount(now, spec.currency)}"
            )
            notes, drop, seconds = [], -line.amount, line.usage_seconds
            for charge in charges:
                give = min(drop, charge.amount - credited_so_far(charge))
                if give <= 0:
                    continue
                credit = _Credit(charge, give, description=why, usage_seconds=seconds)
                notes.append(
                    _issue_note(
                        held[charge.invoice_id],
                        [credit],
                        reason=f"Late usage of {month_label(line.period_start)} lowered its price",
                        actor=None,
                        request=None,
                    )
                )
                drop, seconds = drop - give, None
                if drop == 0:
                    break
            if notes and own:  # built again by ``_store_draft``, under the lock held here
                _store_draft(
                    DraftSpec(spec.tenant_id, spec.currency, spec.period_start, spec.period_end),
                    result,
                )
            return notes
    except (PaymentPending, NotFound):
        # A card charge of a charging invoice is processing, or a draft was withdrawn
        # meanwhile: the next close tries again; the batch's other tenants go on.
        logger.info(
            "late usage of entitlement %s: price drop not given back yet", line.entitlement_id
        )
        return []


def _charges_of(spec: DraftSpec, line: LineSpec) -> list[InvoiceLine]:
    """The lines of invoices (not void) that charged the usage of ``line``'s entitlement and
    month, the latest first; not ``spec``'s month's own invoice, which ``line`` rebuilds."""
    return list(
        InvoiceLine.objects.filter(
            live_invoice_filter("invoice__"),
            entitlement_id=line.entitlement_id,
            period_start=line.period_start,
            kind__in=builder.BILLED_USAGE_KINDS,
            amount__gt=0,
        )
        .exclude(invoice__period_start=spec.period_start)
        .select_related("invoice")
        .order_by("-invoice__period_start", "-position")
    )


# --- checking a stored invoice ----------


@dataclass
class Recomputation:
    invoice: Invoice
    digest: str
    differences: list[str]

    @property
    def matches(self) -> bool:
        return not self.differences


def recompute_invoice(invoice: Invoice) -> Recomputation:
    """Rebuild the invoice's lines from today's rollups, entitlements and orders and list
    what differs from what is stored (adjustment lines are finance's and not rebuilt)."""
    if invoice.kind != InvoiceKind.INVOICE:
        raise InvoiceNotCreditable("Credit notes are not built from usage; nothing to rebuild.")
    rebuilt = _rebuilt(invoice)
    lines = rebuilt.lines if rebuilt else []
    digest = rebuilt.rollup_digest if rebuilt else ""
    differences = []
    if digest != invoice.rollup_digest:
        differences.append(f"rollup digest: stored {invoice.rollup_digest}, now {digest}")
    stored = [LineSpec.of(line) for line in _system_lines(invoice)]
    for index in range(max(len(stored), len(lines))):
        before = stored[index] if index < len(stored) else None
        after = lines[index] if index < len(lines) else None
        if before is None:
            differences.append(f"line {index + 1}: missing, rebuilt {after.description!r}")
        elif after is None:
            differences.append(f"line {index + 1}: stored {before.description!r}, not rebuilt")
        elif before.key() != after.key():
            differences.append(
                f"line {index + 1} {before.description!r}: stored {before.amount} "
                f"({before.usage_seconds} s), rebuilt {after.amount} ({after.usage_seconds} s)"
            )
    return Recomputation(invoice, digest, differences)


# --- the current period, live ----------


@dataclass
class Upcoming:
    currency: str
    period_start: datetime
    period_end: datetime
    lines: list[LineSpec]
    totals: builder.Totals

    @property
    def rounding_amount(self) -> int:
        """As the close would round it (``Invoice.round_amount_due``): in a three-decimal
        currency, down to what a card can be charged."""
        return rounding(self.totals.amount_due, self.currency)

    @property
    def amount_due(self) -> int:
        return self.totals.amount_due + self.rounding_amount


def upcoming_invoices(tenant_id: int, now: datetime | None = None) -> list[Upcoming]:
    """What the current month would invoice if it closed now; computed, never stored."""
    start = month_start(now or timezone.now())
    account = _account(tenant_id)
    rate = account.tax_rate if account else 0
    reverse = account.reverse_charge if account else False
    return [
        Upcoming(
            spec.currency,
            spec.period_start,
            spec.period_end,
            spec.lines,
            builder.totals(((line.amount, line.is_paid) for line in spec.lines), rate, reverse),
        )
        for spec in builder.build_drafts(tenant_id, start).values()
    ]
