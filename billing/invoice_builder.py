"""What a tenant owes for one UTC month, read from entitlements, orders and usage rollups.

Reads only: the month close (``billing.invoicing``), ``recompute_invoice`` and the live
``/api/v1/invoices/upcoming`` build the same lines here, so a stored invoice can be rebuilt and
compared. Prices come from ``marketplace.pricing`` (the rules are documented there once).

Late usage: each usage and late-usage line records the agent-seconds it billed for its month
(``usage_seconds``). Rollups may still grow after a month's invoice was built (devices send
late); the next close compares, per entitlement and month, the seconds the rollups hold now
with the seconds already billed on non-void invoices, and bills the difference at the
marginal price (the price of the new total minus the price of what was billed; below zero
when more hours lower a ``volume`` price, which a credit note gives back when the month
cannot carry it, keeping those seconds as billed: ``invoicing.credit_price_drop``). A month's own
invoice built again (its draft closed again, or a new one after a void) bills what other
invoices have not billed of it as late usage, so every second is billed once. Only a month a
close has drafted after it ended (``ClosedMonth``) has late usage: one no close has drafted
yet (the hourly close missed it) bills its own hours when it is closed.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import connection
from django.db.models import Exists, OuterRef, Q, Sum
from django.db.models.functions import TruncMonth

from billing.documents.document import negative_total_refusal, vat_amount
from billing.meter import HOUR_PLACES, billed_hours, hours_valid
from billing.models import (
    ClosedMonth,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    UsageHour,
)
from billing.periods import add_months, month_label, next_month
from edgeplug.text import shortened
from marketplace import pricing
from marketplace.models import Entitlement, Order, PlanKind

BILLED_USAGE_KINDS = (LineKind.USAGE, LineKind.LATE_USAGE)


# --- what a draft is made of ----------

DESCRIPTION_MAX = InvoiceLine._meta.get_field("description").max_length


@dataclass
class LineSpec:
    kind: str
    description: str
    amount: int
    period_start: datetime
    period_end: datetime
    quantity: Decimal = Decimal(1)
    unit_amount: Decimal = Decimal(0)
    breakdown: dict = field(default_factory=dict)
    entitlement_id: int | None = None
    order_id: int | None = None
    usage_seconds: int | None = None
    is_paid: bool = False

    def key(self) -> tuple:
        """What recompute compares: every stored value of the line."""
        return (
            self.kind,
            self.description,
            self.amount,
            self.quantity.quantize(HOUR_PLACES),
            self.unit_amount.quantize(HOUR_PLACES),
            self.entitlement_id,
            self.order_id,
            self.usage_seconds,
            self.is_paid,
            self.period_start,
            self.period_end,
        )

    @classmethod
    def of(cls, line: InvoiceLine) -> LineSpec:
        """The spec of a stored line: its value for each field of the spec."""
        return cls(**{f.name: getattr(line, f.name) for f in fields(cls)})

    def as_line(self, **place) -> InvoiceLine:
        """An unsaved line of these values at ``place`` (its invoice and position), the
        description shortened to what the column holds (``shortened``)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["description"] = shortened(self.description, DESCRIPTION_MAX)
        return InvoiceLine(**values, **place)


@dataclass
class DraftSpec:
    tenant_id: int
    currency: str
    period_start: datetime
    period_end: datetime
    lines: list[LineSpec] = field(default_factory=list)
    rollup_digest: str = ""


@dataclass
class _Window:
    """The hours of one entitlement's usage: disjoint [start, end) ranges of whole hours, in
    order (``end`` None: open)."""

    entitlement: Entitlement
    ranges: tuple[tuple[datetime, datetime | None], ...]


# --- entitlements and their usage windows ----------


def _metered_entitlements_of(
    tenant_ids: Iterable[int], start: datetime, end: datetime
) -> dict[int, list[Entitlement]]:
    """The tenants' metered entitlements valid at some point in [start, end), in one query,
    per tenant in (agent, valid_from, id) order."""
    rows = (
        Entitlement.objects.filter(
            tenant_id__in=list(tenant_ids), plan_snapshot__kind=PlanKind.METERED
        )
        .overlapping(start, end)
        .select_related("agent")
        .order_by("agent_id", "valid_from", "id")
    )
    by_tenant: dict[int, list[Entitlement]] = defaultdict(list)
    for entitlement in rows:
        by_tenant[entitlement.tenant_id].append(entitlement)
    return by_tenant


def _windows(entitlements: Iterable[Entitlement]) -> list[_Window]:
    """Each hour of an agent's usage goes to the entitlement valid in it that started last
    (``entitlements`` in (valid_from, id) order per agent): one started later takes its hours
    from an earlier one only while it is valid itself. An hour none is valid in goes to none."""
    by_agent: dict[int, list[Entitlement]] = defaultdict(list)
    for entitlement in entitlements:
        by_agent[entitlement.agent_id].append(entitlement)
    windows = []
    for agent_entitlements in by_agent.values():
        for index, entitlement in enumerate(agent_entitlements):
            ranges = [hours_valid(entitlement.valid_from, entitlement.valid_until)]
            for later in agent_entitlements[index + 1 :]:
                ranges = _without(ranges, *hours_valid(later.valid_from, later.valid_until))
            windows.append(_Window(entitlement, tuple(ranges)))
    return windows


def _without(ranges, cut_start: datetime, cut_end: datetime | None):
    """``ranges`` less [cut_start, cut_end), empty pieces dropped."""
    kept = []
    for start, end in ranges:
        if start < cut_start:
            kept.append((start, cut_start if end is None else min(end, cut_start)))
        if cut_end is not None and (end is None or end > cut_end):
            kept.append((max(start, cut_end), end))
    return [(start, end) for start, end in kept if end is None or start < end]


def _ranges_in(window: _Window, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The window's ranges cut to [start, end), empty ones dropped."""
    cut = [
        (max(start, low), end if high is None else min(end, high)) for low, high in window.ranges
    ]
    return [(low, high) for low, high in cut if low < high]


def _rollups(tenant_id: int, window: _Window, start: datetime, end: datetime):
    in_window = Q(pk__in=[])
    for low, high in _ranges_in(window, start, end):
        in_window |= Q(hour__gte=low, hour__lt=high)
    rows = UsageHour.objects.filter(
        in_window, tenant_id=tenant_id, agent_id=window.entitlement.agent_id
    )
    return rows.order_by("hour", "device_id")


# One rollup row as digested: ``device|agent|hour as Unix seconds|seconds``; rows joined by
# newlines in (hour, device) order, and the SHA-256 of that text is the window's row digest.
# ``w`` lists the windows asked for (key, tenant, agent, from, until); one row per window.
_PG_ROLLUP_DIGESTS = """
WITH w(k, tenant_id, agent_id, low, high) AS (VALUES {values})
SELECT w.k, COALESCE(SUM(u.seconds), 0), COUNT(u.id), encode(sha256(convert_to(COALESCE(
    string_agg(u.device_id::text || '|' || u.agent_id::text || '|'
        || extract(epoch FROM u.hour)::bigint::text || '|' || u.seconds::text,
        E'\\n' ORDER BY u.hour, u.device_id), ''), 'UTF8')), 'hex')
FROM w LEFT JOIN {table} u ON u.tenant_id = w.tenant_id AND u.agent_id = w.agent_id
    AND u.hour >= w.low AND u.hour < w.high
GROUP BY w.k
"""
_EMPTY_DIGEST = hashlib.sha256(b"").hexdigest()
_WINDOWS_PER_QUERY = 500

RollupTotal = tuple[int, int, str]  # seconds, rows, row digest


def _rollup_totals(
    asked: list[tuple[int, _Window, datetime, datetime]],
) -> list[RollupTotal]:
    """(seconds, rows, row digest) of each (tenant, window, start, end): the window's rollups
    in [start, end).

    On PostgreSQL the database sums and digests, up to 500 windows a query (one row each comes
    back, whatever number of ranges it has); elsewhere (SQLite) the same text is built and
    hashed in Python, so both give the same digest. An empty range reads nothing."""
    results: list[RollupTotal | None] = [None] * len(asked)
    pending = []
    for index, (tenant_id, window, start, end) in enumerate(asked):
        ranges = _ranges_in(window, start, end)
        if not ranges:
            results[index] = (0, 0, _EMPTY_DIGEST)
        elif connection.vendor == "postgresql":
            pending.append(_keyed_ranges(index, tenant_id, window, ranges))
        else:
            results[index] = _rollup_total_in_python(tenant_id, window, start, end)
    for index, seconds, count, row_digest in _per_window_rows(_PG_ROLLUP_DIGESTS, pending):
        results[index] = (int(seconds), int(count), row_digest)
    return results


def _keyed_ranges(key: int, tenant_id: int, window: _Window, ranges) -> list[tuple]:
    """A window's ranges as rows of ``w`` (key, tenant, agent, from, until): they share the
    key, so the database sums them as one."""
    return [(key, tenant_id, window.entitlement.agent_id, low, high) for low, high in ranges]


def _per_window_rows(sql: str, pending: list[list[tuple]]) -> list[tuple]:
    """The rows ``sql`` returns for the windows ``pending`` (each its ``_keyed_ranges``), up
    to 500 windows a query."""
    rows = []
    for first in range(0, len(pending), _WINDOWS_PER_QUERY):
        chunk = [row for ranges in pending[first : first + _WINDOWS_PER_QUERY] for row in ranges]
        values = ", ".join(["(%s, %s, %s, %s::timestamptz, %s::timestamptz)"] * len(chunk))
        params = [value for row in chunk for value in row]
        with connection.cursor() as cursor:
            cursor.execute(sql.format(values=values, table=UsageHour._meta.db_table), params)
            rows += cursor.fetchall()
    return rows


# The seconds of each window's rollups per UTC month (months without rollups left out).
_PG_MONTH_SECONDS = """
WITH w(k, tenant_id, agent_id, low, high) AS (VALUES {values})
SELECT w.k, date_trunc('month', u.hour, 'UTC'), SUM(u.seconds)
FROM w JOIN {table} u ON u.tenant_id = w.tenant_id AND u.agent_id = w.agent_id
    AND u.hour >= w.low AND u.hour < w.high
GROUP BY w.k, 2
"""

MonthSeconds = list[tuple[datetime, int]]  # (month, seconds), months in order


def _seconds_per_month(asked: list[tuple[_Window, datetime, datetime]]) -> list[MonthSeconds]:
    """Per (window, start, end): the seconds of the window's rollups in [start, end) in each
    month that has any, in order. On PostgreSQL up to 500 windows a query, elsewhere (SQLite)
    one query a window."""
    results: list[MonthSeconds] = [[] for _ in asked]
    pending = []
    for index, (window, start, end) in enumerate(asked):
        tenant_id = window.entitlement.tenant_id
        ranges = _ranges_in(window, start, end)
        if not ranges:
            continue
        if connection.vendor == "postgresql":
            pending.append(_keyed_ranges(index, tenant_id, window, ranges))
            continue
        per_month = (
            _rollups(tenant_id, window, start, end)
            .annotate(month=TruncMonth("hour", tzinfo=UTC))
            .values_list("month")
            .annotate(seconds=Sum("seconds"))
            .order_by("month")
        )
        results[index] = list(per_month)
    for index, month, seconds in _per_window_rows(_PG_MONTH_SECONDS, pending):
        results[index].append((month.astimezone(UTC), int(seconds)))
    for months in results:
        months.sort()
    return results


def _rollup_total_in_python(tenant_id: int, window: _Window, start: datetime, end: datetime):
    rows = _rollups(tenant_id, window, start, end).values_list(
        "device_id", "agent_id", "hour", "seconds"
    )
    seconds, texts = 0, []
    for device_id, agent_id, hour, row_seconds in rows.iterator(chunk_size=5000):
        seconds += row_seconds
        texts.append(f"{device_id}|{agent_id}|{int(hour.timestamp())}|{row_seconds}")
    return seconds, len(texts), hashlib.sha256("\n".join(texts).encode()).hexdigest()


def _feed(digest, label: str, total: RollupTotal) -> int:
    """Feed one digest line for a window's rollups (the label, the number of rows, their
    seconds and the SHA-256 of the rows themselves) and return its seconds."""
    seconds, count, row_digest = total
    digest.update(f"{label} rows={count} seconds={seconds} {row_digest}\n".encode())
    return seconds


def _terms(entitlement: Entitlement) -> pricing.MeteredTerms:
    snapshot = entitlement.plan_snapshot
    return pricing.parse_metered_terms(snapshot["currency"], snapshot["terms"])


def _charge(breakdown: pricing.Breakdown) -> int:
    """The usage charge (usage and minimum top-up) of a breakdown, the monthly fee left out."""
    return sum(line.amount for line in breakdown.lines if line.kind != pricing.FEE)


def _usage_part(breakdown: pricing.Breakdown) -> dict:
    data = breakdown.as_dict()
    data["lines"] = [line for line in data["lines"] if line["kind"] != pricing.FEE]
    data["total"] = sum(line["amount"] for line in data["lines"])
    return data


def _unit(amount: int, quantity: Decimal) -> Decimal:
    if quantity == 0:
        return Decimal(0)
    return (Decimal(amount) / quantity).quantize(HOUR_PLACES, rounding=ROUND_HALF_UP)


def _agent_name(entitlement: Entitlement) -> str:
    return entitlement.agent.name


def _usage_line(
    kind: str,
    description: str,
    entitlement: Entitlement,
    period: tuple[datetime, datetime],
    *,
    amount: int,
    hours: Decimal,
    seconds: int,
    breakdown: dict,
) -> LineSpec:
    """A line billing ``hours`` of an entitlement's usage in ``period``. It keeps the
    agent-seconds it bills, which the next close compares with the rollups to find late usage."""
    start, end = period
    return LineSpec(
        kind=kind,
        description=description,
        amount=amount,
        period_start=start,
        period_end=end,
        quantity=hours,
        unit_amount=_unit(amount, hours),
        breakdown=breakdown,
        entitlement_id=entitlement.pk,
        usage_seconds=seconds,
    )


# --- the lines of one month ----------


def _period_lines(
    window: _Window, start: datetime, end: datetime, total: RollupTotal, billed: _Billed, digest
) -> list[LineSpec]:
    entitlement = window.entitlement
    terms = _terms(entitlement)
    label = f"entitlement {entitlement.pk} {month_label(start)}"
    # Hours of the month a later invoice billed as late usage (this invoice was built again
    # since) are its, priced at the margin there: these are the first ones.
    seconds = max(0, _feed(digest, label, total) - billed.late.get(entitlement.pk, 0))
    hours = billed_hours(seconds)
    breakdown = pricing.price_usage(terms, hours)
    plan = entitlement.plan_snapshot.get("name", "")
    lines = []
    if terms.flat_fee:
        lines.append(
            LineSpec(
                kind=LineKind.FLAT_FEE,
                description=(
                    f"{_agent_name(entitlement)} ({plan}): monthly fee {month_label(start)}"
                ),
                amount=terms.flat_fee,
                period_start=start,
                period_end=end,
                unit_amount=Decimal(terms.flat_fee),
                entitlement_id=entitlement.pk,
            )
        )
    charge = _charge(breakdown)
    if seconds or charge:
        lines.append(
            _usage_line(
                LineKind.USAGE,
                f"{_agent_name(entitlement)} ({plan}): {hours} agent-hours {month_label(start)}",
                entitlement,
                (start, end),
                amount=charge,
                hours=hours,
                seconds=seconds,
                breakdown=_usage_part(breakdown),
            )
        )
    return lines


@dataclass
class _Billed:
    """Seconds the tenants' other non-void invoices billed: per (entitlement, month), and per
    entitlement as late usage of the month being built (by invoices of later months)."""

    seconds: dict[tuple[int, datetime], int] = field(default_factory=dict)
    late: dict[int, int] = field(default_factory=dict)
    # What those invoices charged for an (entitlement, month)'s usage less what credit notes
    # gave back of it: the most a lower price may still give back.
    held: dict[tuple[int, datetime], int] = field(default_factory=dict)


# The lines that charge an (entitlement, month)'s usage or give it back, in invoices (drafts
# too) and credit notes that are not void: their sum is what is still held of that usage.
# Credit notes of usage: what they gave back is no longer held; one giving back a lower price
# (``invoicing.credit_price_drop``) bills its late seconds too. A later month's negative
# ``late_usage`` line (a lower price it carried) gave back that much as well.
USAGE_HELD_LINES = (
    Q(invoice__kind=InvoiceKind.INVOICE, kind__in=BILLED_USAGE_KINDS)
    | Q(invoice__kind=InvoiceKind.CREDIT_NOTE, credited_line__kind__in=BILLED_USAGE_KINDS)
) & ~Q(invoice__status=InvoiceStatus.VOID)


def _billed_seconds(tenant_ids: list[int], start: datetime) -> _Billed:
    """What the invoices of other months (and credit notes) billed: the month being built
    never counts its own invoice, drafted or issued, as having billed anything."""
    lines = InvoiceLine.objects.filter(USAGE_HELD_LINES, invoice__tenant_id__in=tenant_ids).exclude(
        invoice__kind=InvoiceKind.INVOICE, invoice__period_start=start
    )
    billed = _Billed()
    rows = lines.values("entitlement_id", "period_start", "kind").annotate(
        seconds=Sum("usage_seconds"), amount=Sum("amount")
    )
    for row in rows:
        key, seconds = (row["entitlement_id"], row["period_start"]), row["seconds"] or 0
        billed.seconds[key] = billed.seconds.get(key, 0) + seconds
        billed.held[key] = billed.held.get(key, 0) + row["amount"]
        if row["period_start"] == start and row["kind"] != LineKind.USAGE:  # billed late
            billed.late[row["entitlement_id"]] = billed.late.get(row["entitlement_id"], 0) + seconds
    return billed


# A window's earlier months whose rollups hold more than was billed for them, in order, with
# their rollups' total now.
LateMonths = list[tuple[datetime, RollupTotal]]


def _closed_months(since: datetime, until: datetime) -> set[datetime]:
    """The months in [since, until) a close has drafted after they ended (``ClosedMonth``):
    only theirs is usage reported after its month was invoiced. A month no close has drafted
    yet bills its hours itself, when it is closed (the hourly close catches it up)."""
    months = ClosedMonth.objects.filter(period_start__gte=since, period_start__lt=until)
    return set(months.values_list("period_start", flat=True))


def _late_usage_of(
    windows: list[_Window], since: datetime, until: datetime, billed: _Billed
) -> dict[int, LateMonths]:
    """Per window (by ``id``): its closed months in [since, until) whose rollups hold more
    seconds than were billed for them, with their totals and digests. Three reads for all the
    windows (the closed months, the seconds per month, then the totals of the months found
    late), as many as 500 windows a query each."""
    closed = _closed_months(since, until)
    per_month = _seconds_per_month([(window, since, until) for window in windows])
    late_months = [
        (window, month)
        for window, months in zip(windows, per_month, strict=True)
        for month, seconds in months
        if month in closed and seconds > billed.seconds.get((window.entitlement.pk, month), 0)
    ]
    totals = _rollup_totals(
        [
            (window.entitlement.tenant_id, window, month, next_month(month))
            for window, month in late_months
        ]
    )
    late: dict[int, LateMonths] = defaultdict(list)
    for (window, month), total in zip(late_months, totals, strict=True):
        late[id(window)].append((month, total))
    return late


def _late_lines(window: _Window, late: LateMonths, billed: _Billed, digest) -> list[LineSpec]:
    """Usage of earlier months that rollups hold beyond what was billed for them
    (``_late_usage_of``)."""
    entitlement = window.entitlement
    terms = _terms(entitlement)
    lines = []
    for start, rollup_total in late:
        already = billed.seconds.get((entitlement.pk, start), 0)
        end = next_month(start)
        label = f"late entitlement {entitlement.pk} {month_label(start)}"
        total = _feed(digest, label, rollup_total)
        hours_before, hours_now = billed_hours(already), billed_hours(total)
        before = pricing.price_usage(terms, hours_before)
        after = pricing.price_usage(terms, hours_now)
        late_hours = hours_now - hours_before
        breakdown = {"billed_before": _usage_part(before), "now": _usage_part(after)}
        amount = _charge(after) - _charge(before)
        # A lower price gives back at most what is still held of the month: finance's credit
        # notes may have given it all back already.
        if (floor := -max(billed.held.get((entitlement.pk, start), 0), 0)) > amount:
            breakdown["credited_before"] = floor - amount
            amount = floor
        lines.append(
            _usage_line(
                LineKind.LATE_USAGE,
                f"{_agent_name(entitlement)}: {late_hours} agent-hours of "
                f"{month_label(start)} reported after that month was invoiced",
                entitlement,
                (start, end),
                amount=amount,
                hours=late_hours,
                seconds=total - already,
                breakdown=breakdown,
            )
        )
    return lines


def _order_lines(
    tenant_ids: list[int], start: datetime, end: datetime
) -> dict[int, list[tuple[str, LineSpec]]]:
    """Per tenant: one-time orders paid in the month, then those refunded in it."""
    one_time = (
        Order.objects.billable_one_time()
        .filter(tenant_id__in=tenant_ids)
        .select_related("agent", "plan")
    )
    lines: dict[int, list[tuple[str, LineSpec]]] = defaultdict(list)
    paid = one_time.sold_between(start, end).order_by("completed_at", "id")
    for order in paid:
        description = f"{order.agent.name} ({order.plan.name}), order {order.pk}: paid"
        line = _order_line(order, LineKind.ONE_TIME_ORDER, description, 1, start, end)
        line.breakdown = order.breakdown
        lines[order.tenant_id].append((order.currency, line))
    # One a credit note gave back is not credited again (``invoicing.credit_refund``).
    refunded = (
        one_time.refunded_between(start, end)
        .exclude(Exists(credit_note_lines(OuterRef("pk"))))
        .order_by("refunded_at", "id")
    )
    for order in refunded:
        description = f"{order.agent.name}, order {order.pk}: refunded"
        line = _order_line(order, LineKind.CREDIT, description, -1, start, end)
        lines[order.tenant_id].append((order.currency, line))
    return lines


def credit_note_lines(order):
    """The credit notes' lines giving back ``order`` (an id or ``OuterRef``): once there is
    one, its refund is never a ``credit`` line of a month."""
    return InvoiceLine.objects.filter(order=order, invoice__kind=InvoiceKind.CREDIT_NOTE)


def _order_line(
    order: Order, kind: str, description: str, sign: int, start: datetime, end: datetime
) -> LineSpec:
    """A one-time order's line, already paid (charged at checkout): ``sign`` -1 credits it
    back."""
    seats = Decimal(order.seats)
    return LineSpec(
        kind=kind,
        description=description,
        amount=sign * order.amount,
        period_start=start,
        period_end=end,
        quantity=seats,
        unit_amount=sign * _unit(order.amount, seats),
        order_id=order.pk,
        is_paid=True,
    )


def late_usage_since(start: datetime) -> datetime:
    """The first month whose rollups the close of ``start``'s month still bills late usage of."""
    return add_months(start, -settings.BILLING_LATE_USAGE_MONTHS)


def build_drafts(tenant_id: int, start: datetime) -> dict[str, DraftSpec]:
    """One draft per currency with everything the tenant owes for the month from ``start``.

    Every non-void invoice of another month counts as having billed what it billed; the
    month's own invoice (a draft built again, an issued one checked) never counts itself."""
    return build_drafts_of([tenant_id], start).get(tenant_id, {})


def build_drafts_of(tenant_ids: Iterable[int], start: datetime) -> dict[int, dict[str, DraftSpec]]:
    """``build_drafts`` for many tenants at once (the month close): entitlements, billed
    seconds, rollup sums and digests and orders are read for all of them in a few queries.
    Each tenant's drafts are exactly what ``build_drafts`` gives for it alone."""
    tenant_ids = list(tenant_ids)
    end = next_month(start)
    since = late_usage_since(start)
    billed = _billed_seconds(tenant_ids, start)
    entitlements = _metered_entitlements_of(tenant_ids, since, end)
    windows = {tenant_id: _windows(entitlements.get(tenant_id, [])) for tenant_id in tenant_ids}
    all_windows = [window for tenant_windows in windows.values() for window in tenant_windows]
    in_period = [window for window in all_windows if window.entitlement.overlaps(start, end)]
    rollups = dict(
        zip(
            (id(window) for window in in_period),
            _rollup_totals(
                [(window.entitlement.tenant_id, window, start, end) for window in in_period]
            ),
            strict=True,
        )
    )
    late = _late_usage_of(all_windows, since, start, billed)
    orders = _order_lines(tenant_ids, start, end)
    return {
        tenant_id: _assemble(
            tenant_id, start, windows[tenant_id], rollups, late, billed, orders.get(tenant_id, [])
        )
        for tenant_id in tenant_ids
    }


def _assemble(
    tenant_id: int,
    start: datetime,
    windows: list[_Window],
    rollups: dict[int, RollupTotal],
    late: dict[int, LateMonths],
    billed: _Billed,
    orders: list[tuple[str, LineSpec]],
) -> dict[str, DraftSpec]:
    """One tenant's drafts from what ``build_drafts_of`` read: per window (agent order) its
    month's lines then its late usage, then the orders."""
    end = next_month(start)
    drafts: dict[str, DraftSpec] = {}
    digests: dict[str, hashlib._Hash] = {}

    def draft(currency: str) -> tuple[DraftSpec, hashlib._Hash]:
        if currency not in drafts:
            drafts[currency] = DraftSpec(tenant_id, currency, start, end)
            digests[currency] = hashlib.sha256()
        return drafts[currency], digests[currency]

    for window in windows:
        spec, digest = draft(window.entitlement.plan_snapshot["currency"])
        if id(window) in rollups:
            spec.lines.extend(
                _period_lines(window, start, end, rollups[id(window)], billed, digest)
            )
        spec.lines.extend(_late_lines(window, late.get(id(window), []), billed, digest))
    for currency, line in orders:
        spec, _ = draft(currency)
        spec.lines.append(line)
    for currency, spec in list(drafts.items()):
        if not spec.lines:
            del drafts[currency]
            continue
        spec.rollup_digest = digests[currency].hexdigest()
    return drafts


def tenants_to_close(start: datetime) -> list[int]:
    """Tenants that may owe something for the month: metered entitlements (this month or
    within the late-usage window) and one-time orders paid or refunded in it."""
    end = next_month(start)
    since = late_usage_since(start)
    metered = (
        Entitlement.objects.filter(plan_snapshot__kind=PlanKind.METERED)
        .overlapping(since, end)
        .values_list("tenant_id", flat=True)
    )
    one_time = Order.objects.billable_one_time()
    ordered = (
        one_time.sold_between(start, end) | one_time.refunded_between(start, end)
    ).values_list("tenant_id", flat=True)
    return sorted(set(metered) | set(ordered))


# --- totals ----------


@dataclass(frozen=True)
class Totals:
    subtotal: int
    tax: int
    total: int
    prepaid: int

    @property
    def amount_due(self) -> int:
        return self.total - self.prepaid

    @property
    def below_zero(self) -> str | None:
        """What finalize refuses of a draft with these totals, or None: ``"subtotal"`` below
        zero before tax (``negative_total_refusal``: money owed back is a credit note), or
        ``"amount_due"`` below zero (its orders paid at checkout more than it comes to: the
        excess, owed back, would be recorded nowhere). The one rule that finalize, an
        adjustment and the close's check of late usage lowering a price ask."""
        if negative_total_refusal(self.subtotal):
            return "subtotal"
        return "amount_due" if self.amount_due < 0 else None


def totals(amounts_paid: Iterable[tuple[int, bool]], tax_rate: Decimal, reverse_charge: bool):
    """Tax is computed once on the subtotal (``vat_amount``, BR-CO-17), for an invoice as for
    a credit note; a reverse-charged invoice has none. Lines already paid (one-time orders,
    refunds) count as prepaid."""
    rows = list(amounts_paid)
    subtotal = sum(amount for amount, _ in rows)
    tax = 0 if reverse_charge else vat_amount(subtotal, tax_rate)
    prepaid = sum(amount for amount, paid in rows if paid)
    return Totals(subtotal, tax, subtotal + tax, prepaid)
