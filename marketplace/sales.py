"""What a vendor sold: agent-hours its customers ran, how many customers, and revenue, per
agent and calendar month (UTC). Read-only; the vendor portal's sales page and its CSV show it.

Revenue counts one-time orders by the month they were sold (``Order.objects.sold_between``,
as the month's invoice does: an order refunded later still counts where it was sold; the
refund is in the payout statement of its own month), in their own currency (amounts are
never converted). Customers are the tenants that ran or bought the agent that
month; this page counts them. Which tenants ran which agent, per day, is the usage API's
answer to the vendor's admins and developers (``GET /api/v1/vendor/usage``, issue 13's
contract): sales and payouts are for its admins and billing members (``READ_PAYOUTS``),
usage for those who build the agents (docs/roles.md).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Sum
from django.db.models.functions import TruncMonth

from billing.meter import billed_hours
from billing.models import UsageHour
from billing.periods import month_label, next_month
from marketplace.models import Agent, Order
from marketplace.pricing import currency_exponent


@dataclass
class MonthSales:
    month: dt.date
    agent: Agent
    seconds: int = 0
    customers: set[int] = field(default_factory=set)
    revenue: dict[str, int] = field(default_factory=dict)  # currency -> minor units

    @property
    def agent_hours(self) -> Decimal:
        """The month's agent-seconds of the agent, rounded as invoices round them."""
        return billed_hours(self.seconds)


def vendor_sales(vendor, months: list[dt.datetime]) -> list[MonthSales]:
    """One row per (month, agent) with any usage or sale in ``months`` (consecutive month
    starts, as ``recent_months`` gives them), oldest first. Nothing after the last month is
    read: ingest takes sessions ending a few minutes ahead of the clock
    (``USAGE_FUTURE_SKEW_S``), so near a month's end the next month may already hold usage."""
    start, end = months[0], next_month(months[-1])
    agents = {a.pk: a for a in Agent.objects.filter(tenant=vendor)}
    rows: dict[tuple[dt.date, int], MonthSales] = {}

    def row(month: dt.datetime, agent_id: int) -> MonthSales:
        key = (month.date(), agent_id)
        if key not in rows:
            rows[key] = MonthSales(month.date(), agents[agent_id])
        return rows[key]

    usage = (
        UsageHour.objects.filter(agent__tenant=vendor, hour__gte=start, hour__lt=end)
        .annotate(month=TruncMonth("hour", tzinfo=dt.UTC))
        .values("month", "agent", "tenant")
        .annotate(seconds=Sum("seconds"))
    )
    for item in usage:
        month_row = row(item["month"], item["agent"])
        month_row.seconds += item["seconds"]
        month_row.customers.add(item["tenant"])
    orders = (
        Order.objects.filter(agent__tenant=vendor)
        .sold_between(start, end)
        .annotate(month=TruncMonth("completed_at", tzinfo=dt.UTC))
        .values("month", "agent", "tenant", "currency")
        .annotate(amount=Sum("amount"))
    )
    for item in orders:
        month_row = row(item["month"], item["agent"])
        month_row.customers.add(item["tenant"])
        if item["amount"]:
            currency = item["currency"]
            month_row.revenue[currency] = month_row.revenue.get(currency, 0) + item["amount"]
    return sorted(rows.values(), key=lambda r: (r.month, r.agent.name))


def chart_series(rows: list[MonthSales], months: list[dt.datetime]) -> dict:
    """The figures the sales page draws: agent-hours per agent and revenue per currency, one
    value per month (zero where nothing happened), as strings of exact decimals."""
    labels = [month_label(m) for m in months]
    position = {m.date(): i for i, m in enumerate(months)}
    hours: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * len(months))
    revenue: dict[str, list[int]] = defaultdict(lambda: [0] * len(months))
    for r in rows:
        hours[r.agent.name][position[r.month]] += r.agent_hours
        for currency, amount in r.revenue.items():
            revenue[currency][position[r.month]] += amount
    return {
        "labels": labels,
        "agent_hours": {name: [str(v) for v in values] for name, values in hours.items()},
        "revenue_minor": dict(revenue),
        "exponents": {currency: currency_exponent(currency) for currency in revenue},
    }
