"""Vendor payouts, the reads: which invoice lines belong to which vendor, summed per vendor,
currency and month, and a vendor's statement line by line (streamed as CSV).

What counts (docs/billing.md, "Finance"):

* A line belongs to the vendor of its agent: the agent of its entitlement (fees, usage, late
  usage) or of its order (one-time orders and their refunds). Lines without either
  (finance's adjustments) are the platform's and belong to no vendor.
* Sales (gross) of month M: fee, usage, late-usage and one-time-order lines of finalized,
  not void invoices for M. One-time orders are counted through their invoice lines, never
  a second time from the orders themselves.
* Refunds of month M: refund lines on those invoices (one-time orders refunded in M), and
  the lines of credit notes issued (finalized) in M. A refund thus falls in the month it is
  given, and a month's statement does not change once its invoices are finalized.
* What was given back of a one-time order in part (a refund made in Stripe's dashboard, a
  dispute lost in part: ``marketplace.models.GivenBackInPart``) is a refund of the month it
  was given back in, on no document; the order's refund in full later (its ``credit``
  line or credit note line, of its whole price) counts only the rest, so the order is
  counted back once, at its price (``_counted``). Such a refund Stripe failed later is
  counted back in the month the failure was told (a row of a negative amount: a negative
  refund line), the months before left as they were sent.
* Amounts are line amounts, before tax: tax is the platform's to remit, not the vendor's.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings
from django.db.models import Case, F, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce, TruncMonth
from django.http import Http404

from billing.csv_stream import csv_lines
from billing.models import (
    InvoiceKind,
    InvoiceLine,
    LineKind,
    in_revenue_months,
    issued_filter,
    line_agent,
    revenue_month,
)
from billing.payouts import Payout, compute_payout
from billing.periods import month_label, next_month
from edgeplug.tenancy.models import Tenant
from edgeplug.timefmt import utc_iso
from marketplace.models import Agent, GivenBackInPart, GivenBackSource
from marketplace.orders import REFUND_IN_PART_FAILED, REFUNDED_IN_PART
from marketplace.powers import keeps_agents
from marketplace.pricing import format_amount

SALE_KINDS = (LineKind.FLAT_FEE, LineKind.USAGE, LineKind.LATE_USAGE, LineKind.ONE_TIME_ORDER)
SALE, REFUND = "sale", "refund"


def _is_sale():
    return Q(invoice__kind=InvoiceKind.INVOICE, kind__in=SALE_KINDS)


def _is_refund():
    return Q(invoice__kind=InvoiceKind.INVOICE, kind=LineKind.CREDIT) | Q(
        invoice__kind=InvoiceKind.CREDIT_NOTE
    )


def attributed_lines(first: datetime, last: datetime) -> QuerySet:
    """Lines of finalized, not void documents that count for a vendor in the months from
    ``first`` to ``last`` (month starts, both included), annotated with ``vendor_id``,
    ``month``, ``record`` (sale or refund), ``given_before`` and ``counted`` (``_counted``)."""
    end = next_month(last)
    return _counted(
        InvoiceLine.objects.filter(issued_filter("invoice__"))
        # the months' documents through their indexes; ``month`` below groups them
        .filter(in_revenue_months(first, end, "invoice__"))
        .annotate(
            vendor_id=line_agent("tenant_id"),
            month=revenue_month("invoice__"),
            record=Case(When(_is_sale(), then=Value(SALE)), default=Value(REFUND)),
        )
        .filter(vendor_id__isnull=False, month__gte=first, month__lt=end)
        .filter(_is_sale() | _is_refund())
    )


def _counted(lines: QuerySet) -> QuerySet:
    """The one rule of an order given back in part, then in full: its amounts given back in
    part counted each in its month (``_given_in_part``), the line of its refund in full (a
    refund line naming the order, of its whole price: the only one an order has) counts
    only the rest. ``given_before``: what was counted in part before (0 but on such a line);
    ``counted``: the line's amount less that (negative for a refund)."""
    in_part = (
        GivenBackInPart.objects.filter(order_id=OuterRef("order_id"))
        .order_by()
        .values("order_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return lines.annotate(
        given_before=Case(
            When(_is_refund() & Q(order_id__isnull=False), then=Coalesce(Subquery(in_part), 0)),
            default=Value(0),
        ),
        counted=F("amount") + F("given_before"),
    )


def _given_in_part(first: datetime, last: datetime) -> QuerySet:
    """The amounts given back of one-time orders in part in the months from ``first`` to
    ``last`` (a refund made in Stripe's dashboard, a dispute lost in part), as refunds of
    the vendor of each order's agent, in its currency: annotated as ``attributed_lines``
    (``counted`` negative, as a refund line's amount), with the order's agent and
    customer."""
    given = GivenBackInPart.objects.filter(given_at__gte=first, given_at__lt=next_month(last))
    return given.annotate(
        vendor_id=F("order__agent__tenant_id"),
        month=TruncMonth("given_at", tzinfo=UTC),
        currency=F("order__currency"),
        agent_id=F("order__agent_id"),
        agent_name=F("order__agent__name"),
        customer=F("order__tenant__slug"),
        counted=-F("amount"),
    )


def has_payouts(tenant: Tenant) -> bool:
    """Whether a tenant has payout statements to read: a vendor, or a former one (staff
    unticked "is vendor") that keeps its agents, whose sales still count (docs/roles.md;
    ``marketplace.powers.keeps_agents``)."""
    return keeps_agents(tenant)


def has_payouts_filter(field: str = "tenant") -> Q:
    """``has_payouts`` as a filter on the tenant at ``field`` (for a list of memberships), or
    on the tenants themselves with ``field=""``."""
    prefix = f"{field}__" if field else ""
    return Q(**{f"{prefix}is_vendor": True}) | Q(
        **{f"{field or 'pk'}__in": Agent.objects.values("tenant")}
    )


@dataclass
class VendorPayout:
    vendor_id: int
    vendor_slug: str
    vendor_name: str
    month: datetime
    payout: Payout

    @property
    def period(self) -> str:
        return month_label(self.month)


def vendor_payouts(
    first: datetime, last: datetime | None = None, *, vendor_id: int | None = None
) -> list[VendorPayout]:
    """Payouts per vendor, month and currency for the months ``first``..``last``, ordered by
    month, vendor and currency (grouped in the database: the lines in one query, what was
    given back in part in another)."""
    last = last or first
    lines, in_part = attributed_lines(first, last), _given_in_part(first, last)
    if vendor_id is not None:
        lines, in_part = lines.filter(vendor_id=vendor_id), in_part.filter(vendor_id=vendor_id)
    sums: dict[tuple, list[int]] = {}
    for row in lines.values("month", "vendor_id", "invoice__currency").annotate(
        gross=Coalesce(Sum("counted", filter=Q(record=SALE)), 0),
        refunded=Coalesce(Sum("counted", filter=Q(record=REFUND)), 0),
    ):
        key = (row["month"], row["vendor_id"], row["invoice__currency"])
        sums[key] = [row["gross"], row["refunded"]]
    in_part = in_part.order_by().values("month", "vendor_id", "currency")
    for row in in_part.annotate(total=Sum("counted")):
        key = (row["month"], row["vendor_id"], row["currency"])
        sums.setdefault(key, [0, 0])[1] += row["total"]
    names = _vendor_names({vendor for _, vendor, _ in sums})
    fee = settings.PLATFORM_FEE_PERCENT
    return [
        VendorPayout(
            vendor,
            *names[vendor],
            month,
            compute_payout(currency, gross, -refunded, fee),
        )
        for (month, vendor, currency), (gross, refunded) in sorted(sums.items())
    ]


def _vendor_names(ids: set[int]) -> dict[int, tuple[str, str]]:
    return {t.pk: (t.slug, t.name) for t in Tenant.objects.filter(pk__in=ids)}


@dataclass
class AgentFigures:
    agent_id: int
    agent: str
    currency: str
    gross: int = 0
    refunds: int = 0


@dataclass
class Statement:
    """One vendor's payout for one month: per currency, and per agent for reading."""

    vendor_id: int
    month: datetime
    payouts: list[Payout] = field(default_factory=list)
    agents: list[AgentFigures] = field(default_factory=list)

    @property
    def period(self) -> str:
        return month_label(self.month)

    @property
    def is_empty(self) -> bool:
        return not self.payouts


def statement(vendor_id: int, month: datetime) -> Statement:
    result = Statement(vendor_id, month)
    result.payouts = [row.payout for row in vendor_payouts(month, vendor_id=vendor_id)]
    per_agent = (
        attributed_lines(month, month)
        .filter(vendor_id=vendor_id)
        .annotate(
            agent_id=Coalesce(F("entitlement__agent_id"), F("order__agent_id")),
            agent_name=Coalesce(F("entitlement__agent__name"), F("order__agent__name")),
            currency=F("invoice__currency"),
        )
        .values("agent_id", "agent_name", "currency", "record")
        .annotate(total=Sum("counted"))
    )
    in_part = (
        _given_in_part(month, month)
        .filter(vendor_id=vendor_id)
        .order_by()
        .values("agent_id", "agent_name", "currency")
        .annotate(record=Value(REFUND), total=Sum("counted"))
    )
    agents: dict[tuple[int, str], AgentFigures] = {}
    rows = sorted(
        [*per_agent, *in_part],
        key=lambda row: (row["agent_name"], row["agent_id"], row["currency"], row["record"]),
    )
    for row in rows:
        key = (row["agent_id"], row["currency"])
        figures = agents.setdefault(key, AgentFigures(*key[:1], row["agent_name"], key[1]))
        if row["record"] == SALE:
            figures.gross += row["total"]
        else:
            figures.refunds -= row["total"]
    result.agents = list(agents.values())
    return result


STATEMENT_HEADER = [
    "record",
    "period",
    "document",
    "issued_at",
    "customer",
    "agent",
    "line_kind",
    "description",
    "currency",
    "amount_minor",
]


def _statement_items(vendor_id: int, month: datetime) -> Iterator[list]:
    """The statement's lines, as its totals count them: sales, refunds on documents (an
    order's refund in full less what was given back of it in part before, which the
    description says), then what was given back of orders in part."""
    lines = (
        attributed_lines(month, month)
        .filter(vendor_id=vendor_id)
        .annotate(agent_name=Coalesce(F("entitlement__agent__name"), F("order__agent__name")))
        .order_by("-record", "invoice__finalized_at", "invoice_id", "position", "id")  # sales first
        .values_list(
            "record",
            "invoice__number",
            "invoice__finalized_at",
            "invoice__tenant__slug",
            "agent_name",
            "kind",
            "description",
            "invoice__currency",
            "counted",
            "given_before",
        )
    )
    period = month_label(month)
    chunk = settings.BILLING_EXPORT_CHUNK_SIZE
    for (
        record,
        number,
        issued,
        customer,
        agent,
        kind,
        description,
        currency,
        counted,
        given_before,
    ) in lines.iterator(chunk_size=chunk):
        if given_before:
            given = format_amount(given_before, currency)
            description += f" (less {given} given back in part before)"
        amount = counted if record == SALE else -counted
        row = [record, period, number, utc_iso(issued), customer, agent, kind, description]
        yield [*row, currency, amount]
    in_part = (
        _given_in_part(month, month)
        .filter(vendor_id=vendor_id)
        .order_by("given_at", "id")
        .values_list(
            "order_id", "given_at", "customer", "agent_name", "source", "currency", "amount"
        )
    )
    for order_id, given_at, customer, agent, source, currency, given in in_part.iterator(
        chunk_size=chunk
    ):
        target = f"order {order_id}"
        if source == GivenBackSource.REFUND_FAILED:
            kind, what = REFUND_IN_PART_FAILED, "counted back: its refund in part failed in Stripe"
        else:
            kind, what = REFUNDED_IN_PART, f"given back in part ({GivenBackSource(source).label})"
        row = [REFUND, period, target, utc_iso(given_at), customer, agent, kind]
        yield [*row, f"{agent}, {target}: {what}", currency, given]


def _summary(statement: Statement) -> Iterator[list]:
    period = statement.period
    for p in statement.payouts:
        fee = f"{p.fee_percent}% of gross less refunds, half-up"
        for record, amount, text in (
            ("gross", p.gross, "sales of the period"),
            ("refunds", p.refunds, "refunds, credit notes and given back in part in the period"),
            ("platform_fee", p.platform_fee, fee),
            ("net", p.net, "gross - refunds - platform_fee"),
        ):
            yield [record, period, "", "", "", "", "", text, p.currency, amount]


# Why a month has no statement, as every door says it: a sale counts once its invoice is
# finalized (a month's drafts are not sales yet; docs/billing.md).
NOTHING_TO_PAY_OUT = (
    "no sales and no refunds on finalized invoices that month (a sale counts once the "
    "invoice that charges it is finalized), so there is nothing to pay out."
)


def vendor_statement(vendor: Tenant, month: datetime) -> Statement:
    """The vendor's payout statement of the month as the API, the vendor portal and finance's
    page give it: 404 when it has none (no sale and no refund that month) at every door."""
    found = statement(vendor.pk, month)
    if found.is_empty:
        raise Http404(
            f"No payout statement for {vendor.slug} in {found.period}: {NOTHING_TO_PAY_OUT}"
        )
    return found


def statement_file(vendor: Tenant, found: Statement) -> tuple[Iterator[bytes], str]:
    """``found`` as a CSV download: its lines, and its file name."""
    return statement_csv(found), f"payout-{vendor.slug}-{found.period}.csv"


def statement_csv(statement: Statement) -> Iterator[bytes]:
    """The statement as CSV: every sale and refund line (refunds as positive amounts), then
    per currency the gross, refunds, platform fee and net (the statement's payouts, not
    computed again). Amounts in minor units."""
    rows = _statement_items(statement.vendor_id, statement.month)

    def with_summary():
        yield from rows
        yield from _summary(statement)

    return csv_lines(STATEMENT_HEADER, with_summary())
