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
* Amounts are line amounts, before tax: tax is the platform's to remit, not the vendor's.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db.models import Case, F, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce
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
from marketplace.models import Agent
from marketplace.powers import keeps_agents

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
    ``month`` and ``record`` (sale or refund)."""
    end = next_month(last)
    return (
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
    month, vendor and currency (one query, grouped in the database)."""
    lines = attributed_lines(first, last or first)
    if vendor_id is not None:
        lines = lines.filter(vendor_id=vendor_id)
    sums = (
        lines.values("month", "vendor_id", "invoice__currency")
        .annotate(
            gross=Coalesce(Sum("amount", filter=Q(record=SALE)), 0),
            refunded=Coalesce(Sum("amount", filter=Q(record=REFUND)), 0),
        )
        .order_by("month", "vendor_id", "invoice__currency")
    )
    rows = list(sums)
    names = _vendor_names({row["vendor_id"] for row in rows})
    fee = settings.PLATFORM_FEE_PERCENT
    return [
        VendorPayout(
            row["vendor_id"],
            *names[row["vendor_id"]],
            row["month"],
            compute_payout(row["invoice__currency"], row["gross"], -row["refunded"], fee),
        )
        for row in rows
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
        )
        .values("agent_id", "agent_name", "invoice__currency", "record")
        .annotate(total=Sum("amount"))
        .order_by("agent_name", "agent_id", "invoice__currency", "record")
    )
    agents: dict[tuple[int, str], AgentFigures] = {}
    for row in per_agent:
        key = (row["agent_id"], row["invoice__currency"])
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
            "amount",
        )
    )
    period = month_label(month)
    for (
        record,
        number,
        issued,
        customer,
        agent,
        kind,
        description,
        currency,
        amount,
    ) in lines.iterator(chunk_size=settings.BILLING_EXPORT_CHUNK_SIZE):
        yield [
            record,
            period,
            number,
            utc_iso(issued),
            customer,
            agent,
            kind,
            description,
            currency,
            amount if record == SALE else -amount,
        ]


def _summary(statement: Statement) -> Iterator[list]:
    period = statement.period
    for p in statement.payouts:
        fee = f"{p.fee_percent}% of gross less refunds, half-up"
        for record, amount, text in (
            ("gross", p.gross, "sales of the period"),
            ("refunds", p.refunds, "refunds and credit notes of the period"),
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
