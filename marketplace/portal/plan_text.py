"""A price plan's terms in words, for the pricing page (amounts through pricing.format_amount)."""

from decimal import Decimal

from marketplace import pricing
from marketplace.models import PlanKind, PricePlan


def _tier_text(tier: pricing.Tier, currency: str, lower: Decimal) -> str:
    price = pricing.format_amount(tier.unit_amount, currency)
    span = (
        f"{pricing.plain_number(lower)} to {pricing.plain_number(tier.up_to)} h"
        if tier.up_to is not None
        else f"above {pricing.plain_number(lower)} h"
    )
    flat = f" + {pricing.format_amount(tier.flat_amount, currency)}" if tier.flat_amount else ""
    return f"{span}: {price} per hour{flat}"


def describe_plan(plan: PricePlan) -> list[str]:
    if plan.kind == PlanKind.FREE:
        return ["free"]
    if plan.kind == PlanKind.ONE_TIME:
        return [f"{pricing.format_amount(plan.amount, plan.currency)} once, per seat"]
    terms = pricing.parse_metered_terms(plan.currency, plan.terms)
    money = lambda amount: pricing.format_amount(amount, plan.currency)  # noqa: E731
    parts: list[str] = []
    if terms.scheme == "per_unit":
        parts.append(f"{money(terms.unit_amount)} per agent-hour")
    elif terms.scheme == "package":
        parts.append(f"{money(terms.package_amount)} per started {terms.package_size} hours")
    else:
        parts.append(f"{terms.scheme} tiers:")
        lower = Decimal(0)
        for tier in terms.tiers:
            parts.append(_tier_text(tier, plan.currency, lower))
            lower = tier.up_to if tier.up_to is not None else lower
    if terms.included_hours:
        parts.append(f"first {pricing.plain_number(terms.included_hours)} hours a month included")
    if terms.monthly_minimum:
        parts.append(f"minimum {money(terms.monthly_minimum)} a month")
    if terms.flat_fee:
        parts.append(f"plus {money(terms.flat_fee)} a month")
    return parts
