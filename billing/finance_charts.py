"""The figures behind the finance charts and the geometry that draws them as SVG on the
server (no script, nothing inline for the CSP): revenue by month, revenue by vendor,
outstanding and overdue receivables. Amounts are integer minor units per currency.

Revenue is what finalized, not void invoices bill before tax (their subtotals) for their
month, less the credit notes issued in the month; outstanding is what finalized invoices
still have due (open, payment failed, uncollectible); overdue is the part whose due date (the
one the invoice prints: issue date + BILLING_PAYMENT_TERMS_DAYS) is before today.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import Count, Sum

from billing.models import AMOUNT_DUE, Invoice, in_revenue_months, past_due, revenue_month
from billing.payout_queries import vendor_payouts
from billing.periods import month_label, next_month
from marketplace.pricing import format_amount

# --- figures ----------


def revenue_by_month(months: list[datetime]) -> dict[str, list[tuple[str, int]]]:
    """Per currency, the revenue of each month (zero where nothing was billed)."""
    first, end = months[0], next_month(months[-1])
    rows = (
        Invoice.objects.issued()
        .filter(in_revenue_months(first, end))
        .annotate(month=revenue_month())
        .filter(month__gte=first, month__lt=end)
        .values("currency", "month")
        .annotate(revenue=Sum("subtotal"))
    )
    found: dict[str, dict[datetime, int]] = defaultdict(dict)
    for row in rows:
        found[row["currency"]][row["month"]] = row["revenue"]
    return {
        currency: [(month_label(m), by_month.get(m, 0)) for m in months]
        for currency, by_month in sorted(found.items())
    }


def revenue_by_vendor(month: datetime) -> dict[str, list[tuple[str, int]]]:
    """Per currency, each vendor's sales less refunds in the month, largest first."""
    found: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for row in vendor_payouts(month):
        found[row.payout.currency].append((row.vendor_slug, row.payout.sales))
    return {c: sorted(v, key=lambda item: (-item[1], item[0])) for c, v in sorted(found.items())}


@dataclass(frozen=True)
class Receivables:
    currency: str
    outstanding: int
    outstanding_count: int
    overdue: int
    overdue_count: int


def receivables(today: date) -> list[Receivables]:
    """Per currency, what finalized invoices still have due, and the overdue part (past their
    due date on ``today``, a UTC date: ``past_due``)."""
    late = past_due(today)
    rows = (
        Invoice.objects.unpaid()
        .values("currency")
        .annotate(
            outstanding=Sum(AMOUNT_DUE),
            outstanding_count=Count("id"),
            overdue=Sum(AMOUNT_DUE, filter=late, default=0),
            overdue_count=Count("id", filter=late),
        )
        .order_by("currency")
    )
    return [Receivables(**row) for row in rows]


# --- drawing ----------


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    text: str
    x: float
    y: float
    width: float
    height: float
    negative: bool


@dataclass
class BarChart:
    """Vertical bars in an SVG of ``width`` by ``height``; the template draws what is here."""

    title: str
    currency: str
    width: int
    height: int
    baseline: float
    bars: list[Bar] = field(default_factory=list)
    ticks: list[tuple[float, str]] = field(default_factory=list)
    label_y: float = 0
    plot_left: float = 0

    @property
    def tick_x(self) -> float:
        return self.plot_left - 6


def _nice_step(span: int) -> int:
    """A round step giving about four gridlines over ``span`` minor units."""
    raw = max(span / 4, 1)
    magnitude = 10 ** (len(str(int(raw))) - 1)
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= raw:
            return factor * magnitude
    return 10 * magnitude


def bar_chart(
    title: str, currency: str, series: list[tuple[str, int]], *, width: int = 720, height: int = 260
) -> BarChart:
    """Bars for ``series`` (label, minor units), scaled to a round axis including zero."""
    left, top, bottom = 90.0, 16.0, 44.0
    plot_h = height - top - bottom
    low = min([0, *(v for _, v in series)])
    high = max([0, *(v for _, v in series)])
    step = _nice_step(high - low or 1)
    low = low // step * step  # down to a multiple of the step (floor division: 0 or below)
    high = max(-(-high // step) * step, step)  # up to one, at least one step above zero
    scale = plot_h / (high - low)
    baseline = top + high * scale
    chart = BarChart(title, currency, width, height, baseline, label_y=height - bottom + 18)
    chart.plot_left = left
    value = low
    while value <= high:
        chart.ticks.append((top + (high - value) * scale, format_amount(value, currency)))
        value += step
    slot = (width - left - 10) / max(len(series), 1)
    for index, (label, amount) in enumerate(series):
        bar_h = abs(amount) * scale
        chart.bars.append(
            Bar(
                label=label,
                value=amount,
                text=format_amount(amount, currency),
                x=left + index * slot + slot * 0.15,
                y=baseline - bar_h if amount >= 0 else baseline,
                width=slot * 0.7,
                height=bar_h,
                negative=amount < 0,
            )
        )
    return chart
