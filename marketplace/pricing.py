"""Price arithmetic for agent plans: pure Python, no Django, shared by orders and billing.

Amounts are integer minor units of an ISO 4217 currency (cents for USD, yen for JPY, fils for
KWD). Quantities (agent-hours) are ``Decimal``. Each charge model computes a precise amount
per line; rounding happens once, half-up to a whole minor unit, when the line is built, and
the precise amount is kept beside the rounded one. Totals are sums of rounded lines.

Metered terms, as stored in a plan's ``terms`` (see ``parse_metered_terms``)::

    {"scheme": "per_unit" | "graduated" | "volume" | "package",
     "unit_amount": 12,                       # per_unit: minor units per agent-hour
     "tiers": [{"up_to": 100, "unit_amount": 10, "flat_amount": 0},
               {"up_to": null, "unit_amount": 5}],   # graduated / volume
     "package_size": 50, "package_amount": 400,      # package: per started block of hours
     "included_hours": "10", "monthly_minimum": 1000, "flat_fee": 500}

Rules (each stated once; docs/billing.md repeats them for tenants):

- ``included_hours`` are free and taken off before the scheme applies.
- ``per_unit``: billable hours times ``unit_amount``.
- ``graduated``: each tier prices only the hours inside its band (a line per band reached,
  plus the band's ``flat_amount``); the total is the sum of the band lines.
- ``volume``: every billable hour is priced at the tier the total reaches (one line, plus
  that tier's ``flat_amount``). A cheaper higher tier can make more hours cost less: that
  is what volume pricing means, so volume is the one scheme whose total may fall.
- ``package``: every started block of ``package_size`` hours costs ``package_amount``.
- ``monthly_minimum`` is a monthly commitment on the usage charge: a top-up line brings it
  to the minimum, also in a month without usage.
- ``flat_fee`` is charged every month.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import (
    ROUND_CEILING,
    ROUND_HALF_UP,
    Context,
    Decimal,
    Inexact,
    InvalidOperation,
    localcontext,
)
from typing import Any

# ISO 4217 minor-unit exponents of the currencies we accept.
CURRENCY_EXPONENTS: dict[str, int] = {
    "AUD": 2,
    "BHD": 3,
    "BRL": 2,
    "CAD": 2,
    "CHF": 2,
    "CNY": 2,
    "CZK": 2,
    "DKK": 2,
    "EUR": 2,
    "GBP": 2,
    "HKD": 2,
    "INR": 2,
    "JOD": 3,
    "JPY": 0,
    "KRW": 0,
    "KWD": 3,
    "MXN": 2,
    "NOK": 2,
    "NZD": 2,
    "OMR": 3,
    "PLN": 2,
    "SEK": 2,
    "SGD": 2,
    "TND": 3,
    "USD": 2,
}

SCHEMES = ("per_unit", "graduated", "volume", "package")
# Keeps amounts within a signed 64-bit column and the Stripe API's limits.
MAX_AMOUNT = 10**12
# Hours in new terms (tier bounds, included hours): a million seats running a whole year is
# under 10**10; six decimals are far finer than the second usage is counted in.
MAX_HOURS = 10**10
HOURS_PLACES = 6
ZERO = Decimal(0)


class InvalidPriceTerms(ValueError):
    """Terms a plan cannot be priced with; ``code`` is the API error code."""

    code = "invalid_price_terms"


def currency_exponent(currency: str) -> int:
    try:
        return CURRENCY_EXPONENTS[currency]
    except KeyError:
        raise InvalidPriceTerms(
            f"Unknown currency {currency!r}; use an ISO 4217 code such as USD or EUR."
        ) from None


def round_minor(amount: Decimal) -> int:
    """Half-up to a whole minor unit: the one rounding rule of every line."""
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def to_minor_units(value: Decimal, currency: str) -> int:
    """``12.34`` USD → ``1234``: an amount as people write it, in the currency. ValueError,
    its message the end of a sentence about the amount ("has more decimals than USD allows"),
    when it is not a finite number, is beyond ±``MAX_AMOUNT`` minor units, or has more
    decimals than the currency has: refused, never rounded, however many digits it has."""
    exponent = currency_exponent(currency)
    if not value.is_finite():
        raise ValueError("is not a number")
    # Compared exactly; copy_abs, not abs(): abs() rounds in the context, where 1e999999999
    # overflows its largest exponent (decimal.Overflow, not a refusal).
    if value.copy_abs() > Decimal(MAX_AMOUNT).scaleb(-exponent):
        raise ValueError(f"is more than {format_amount(MAX_AMOUNT, currency)}")
    with localcontext() as exact:
        # Within the bound the scaled integer part fits the context's 28 digits, so only
        # decimals can be lost: a loss is refused, not rounded away (29 nines after the point
        # were stored as 1.00).
        exact.traps[Inexact] = True
        try:
            scaled = value.scaleb(exponent)
        except Inexact:
            scaled = None
    if scaled is None or scaled != scaled.to_integral_value():
        raise ValueError(f"has more decimals than {currency} allows")
    return int(scaled)


def major_units(amount: int | Decimal, currency: str) -> str:
    """``1234, "USD"`` → ``"12.34"``, ``1234, "JPY"`` → ``"1234"``, ``1234, "KWD"`` →
    ``"1.234"``: what ``to_minor_units`` reads back as ``amount``."""
    exponent = currency_exponent(currency)
    return f"{Decimal(amount).scaleb(-exponent):.{exponent}f}"


def unit_price_text(unit_amount: Decimal | int, currency: str) -> str:
    """A price per unit in major units, exact: at least the currency's decimals, more only when
    the price has them (a tier may cost a fraction of a cent per hour): ``10, "EUR"`` →
    ``"0.10"``, ``Decimal("0.15"), "EUR"`` → ``"0.0015"``."""
    exponent = currency_exponent(currency)
    value = Decimal(unit_amount).scaleb(-exponent)
    places = max(exponent, -min(0, value.normalize().as_tuple().exponent))
    return f"{value:.{places}f}"


def plain_number(value: Decimal | int | str) -> str:
    """A number as people and files write it: no exponent, no trailing zeros (``12.5``,
    ``150``, ``0``; never ``1E+2``, ``1E-7`` or ``1.50``), every digit kept (normalize in
    the default context would round past 28 digits)."""
    number = Decimal(value)
    exact = Context(prec=max(len(number.as_tuple().digits), 1))
    return f"{number.normalize(exact):f}"


def format_amount(amount: int, currency: str) -> str:
    """``1234, "USD"`` → ``"12.34 USD"``; for people, never for arithmetic."""
    return f"{major_units(amount, currency)} {currency}"


@dataclass(frozen=True)
class Tier:
    up_to: Decimal | None  # inclusive upper bound in hours; None is "and above"
    unit_amount: int
    flat_amount: int = 0


@dataclass(frozen=True)
class MeteredTerms:
    currency: str
    scheme: str
    unit_amount: int = 0
    tiers: tuple[Tier, ...] = ()
    package_size: int = 0
    package_amount: int = 0
    included_hours: Decimal = ZERO
    monthly_minimum: int = 0
    flat_fee: int = 0


# What a line charges for: invoices show fees apart from usage. ``included`` hours are a line
# of their own at no charge, so a breakdown accounts for every hour of the month.
USAGE, INCLUDED, MINIMUM, FEE, SEATS = "usage", "included", "minimum", "fee", "seats"


@dataclass(frozen=True)
class Line:
    """One priced line: ``precise_amount`` is ``quantity`` x ``unit_amount`` plus
    ``flat_amount`` (a tier's, for reaching it; 0 on other lines), and ``amount`` is it rounded
    half-up."""

    description: str
    quantity: Decimal
    unit_amount: Decimal
    precise_amount: Decimal
    amount: int
    kind: str = USAGE
    flat_amount: int = 0


@dataclass(frozen=True)
class Breakdown:
    currency: str
    lines: tuple[Line, ...] = field(default_factory=tuple)

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines)

    @property
    def precise_total(self) -> Decimal:
        return sum((line.precise_amount for line in self.lines), ZERO)

    def as_dict(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "total": self.total,
            "lines": [
                {
                    "description": line.description,
                    "quantity": str(line.quantity),
                    "unit_amount": str(line.unit_amount),
                    "precise_amount": str(line.precise_amount),
                    "amount": line.amount,
                    "kind": line.kind,
                    "flat_amount": line.flat_amount,
                }
                for line in self.lines
            ],
        }


def _line(
    description: str, quantity: Decimal, unit_amount: Decimal, flat: int = 0, kind: str = USAGE
) -> Line:
    precise = quantity * unit_amount + flat
    return Line(description, quantity, unit_amount, precise, round_minor(precise), kind, flat)


# --- parsing and validation: each predicate raises one specific complaint -------------------


def _amount(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidPriceTerms(f"{name} must be an integer amount in minor units.")
    if not 0 <= value <= MAX_AMOUNT:
        raise InvalidPriceTerms(f"{name} must be between 0 and {MAX_AMOUNT}.")
    return value


def _hours(value: Any, name: str) -> Decimal:
    if isinstance(value, (bool, float)):
        raise InvalidPriceTerms(f"{name} must be an integer or a decimal string, not a float.")
    try:
        hours = Decimal(str(value))
    except InvalidOperation:
        raise InvalidPriceTerms(f"{name} must be a number of hours.") from None
    if not hours.is_finite() or hours < 0:
        raise InvalidPriceTerms(f"{name} must be a finite, non-negative number of hours.")
    return hours


def check_new_hours(terms: MeteredTerms) -> None:
    """Hours a plan is given from now on (its included hours, its tier bounds) within
    ``MAX_HOURS`` and ``HOURS_PLACES``. Only new terms are held to it: terms stored before
    these limits still parse, bill and show (``parse_metered_terms`` does not check them)."""
    named = [("included_hours", terms.included_hours)] + [
        (f"tiers[{index}].up_to", tier.up_to)
        for index, tier in enumerate(terms.tiers)
        if tier.up_to is not None
    ]
    for name, hours in named:
        if refusal := new_hours_refusal(hours):
            raise InvalidPriceTerms(f"{name} {refusal}.")


def new_hours_refusal(hours: Decimal) -> str | None:
    """What is wrong with hours a plan is given from now on, said of them (``must be at most
    10,000,000,000 hours``), else None: the one rule ``check_new_hours`` and the portal's
    pricing form say."""
    if hours > MAX_HOURS:
        return f"must be at most {MAX_HOURS:,} hours"
    if hours != hours.quantize(Decimal(1).scaleb(-HOURS_PLACES)):
        return f"may have at most {HOURS_PLACES} decimals"
    return None


def _tiers(raw: Any) -> tuple[Tier, ...]:
    if not isinstance(raw, list) or not raw:
        raise InvalidPriceTerms("tiers must be a non-empty list.")
    tiers = []
    for index, item in enumerate(raw):
        if not isinstance(item, Mapping):
            raise InvalidPriceTerms(f"tiers[{index}] must be an object.")
        unknown = set(item) - {"up_to", "unit_amount", "flat_amount"}
        if unknown:
            raise InvalidPriceTerms(f"tiers[{index}] has unknown fields: {sorted(unknown)}.")
        up_to = item.get("up_to")
        tiers.append(
            Tier(
                up_to=None if up_to is None else _hours(up_to, f"tiers[{index}].up_to"),
                unit_amount=_amount(item.get("unit_amount"), f"tiers[{index}].unit_amount"),
                flat_amount=_amount(item.get("flat_amount", 0), f"tiers[{index}].flat_amount"),
            )
        )
    _reject_unbounded_before_last(tiers)
    _reject_unsorted_bounds(tiers)
    return tuple(tiers)


def _reject_unbounded_before_last(tiers: list[Tier]) -> None:
    if tiers[-1].up_to is not None:
        raise InvalidPriceTerms('The last tier must have "up_to": null (and above).')
    if any(t.up_to is None for t in tiers[:-1]):
        raise InvalidPriceTerms('Only the last tier may have "up_to": null.')


def _reject_unsorted_bounds(tiers: list[Tier]) -> None:
    bounds = [t.up_to for t in tiers[:-1]]
    if any(b <= 0 for b in bounds) or bounds != sorted(set(bounds)):
        raise InvalidPriceTerms("Tier bounds must be positive and strictly increasing.")


_METERED_FIELDS = {
    "per_unit": {"unit_amount"},
    "graduated": {"tiers"},
    "volume": {"tiers"},
    "package": {"package_size", "package_amount"},
}
_COMMON_FIELDS = {"scheme", "included_hours", "monthly_minimum", "flat_fee"}


def parse_metered_terms(currency: str, raw: Mapping[str, Any]) -> MeteredTerms:
    currency_exponent(currency)
    if not isinstance(raw, Mapping):
        raise InvalidPriceTerms("terms must be an object.")
    scheme = raw.get("scheme")
    if scheme not in SCHEMES:
        raise InvalidPriceTerms(f"scheme must be one of {', '.join(SCHEMES)}.")
    allowed = _COMMON_FIELDS | _METERED_FIELDS[scheme]
    unknown = set(raw) - allowed
    if unknown:
        raise InvalidPriceTerms(f"The {scheme} scheme does not take {sorted(unknown)}.")
    missing = _METERED_FIELDS[scheme] - set(raw)
    if missing:
        raise InvalidPriceTerms(f"The {scheme} scheme needs {sorted(missing)}.")
    terms = MeteredTerms(
        currency=currency,
        scheme=scheme,
        unit_amount=_amount(raw.get("unit_amount", 0), "unit_amount"),
        tiers=_tiers(raw["tiers"]) if "tiers" in raw else (),
        package_size=_amount(raw.get("package_size", 0), "package_size"),
        package_amount=_amount(raw.get("package_amount", 0), "package_amount"),
        included_hours=_hours(raw.get("included_hours", 0), "included_hours"),
        monthly_minimum=_amount(raw.get("monthly_minimum", 0), "monthly_minimum"),
        flat_fee=_amount(raw.get("flat_fee", 0), "flat_fee"),
    )
    if scheme == "package" and terms.package_size < 1:
        raise InvalidPriceTerms("package_size must be at least 1 hour.")
    return terms


def terms_as_json(terms: MeteredTerms) -> dict[str, Any]:
    """The canonical stored form (decimals as strings, hours written plainly: ``10`` for
    ``10.0``), which parses back to equal terms: equal terms are stored alike."""
    data: dict[str, Any] = {"scheme": terms.scheme}
    if terms.scheme == "per_unit":
        data["unit_amount"] = terms.unit_amount
    elif terms.scheme == "package":
        data["package_size"] = terms.package_size
        data["package_amount"] = terms.package_amount
    else:
        data["tiers"] = [
            {
                "up_to": None if t.up_to is None else plain_number(t.up_to),
                "unit_amount": t.unit_amount,
                "flat_amount": t.flat_amount,
            }
            for t in terms.tiers
        ]
    data["included_hours"] = plain_number(terms.included_hours)
    data["monthly_minimum"] = terms.monthly_minimum
    data["flat_fee"] = terms.flat_fee
    return data


# --- charge models: one function per scheme, each returning its lines -----------------------


def _per_unit_lines(terms: MeteredTerms, hours: Decimal) -> list[Line]:
    if hours == 0:
        return []
    return [_line("agent-hours", hours, Decimal(terms.unit_amount))]


def _graduated_lines(terms: MeteredTerms, hours: Decimal) -> list[Line]:
    lines, lower = [], ZERO
    for tier in terms.tiers:
        if hours <= lower:
            break
        upper = hours if tier.up_to is None else min(hours, tier.up_to)
        quantity = upper - lower
        label = f"agent-hours {lower}-{'' if tier.up_to is None else tier.up_to}"
        lines.append(_line(label, quantity, Decimal(tier.unit_amount), tier.flat_amount))
        lower = upper if tier.up_to is None else tier.up_to
    return lines


def _volume_lines(terms: MeteredTerms, hours: Decimal) -> list[Line]:
    if hours == 0:
        return []
    tier = next(t for t in terms.tiers if t.up_to is None or hours <= t.up_to)
    return [_line("agent-hours (volume tier)", hours, Decimal(tier.unit_amount), tier.flat_amount)]


def _package_lines(terms: MeteredTerms, hours: Decimal) -> list[Line]:
    if hours == 0:
        return []
    packages = (hours / terms.package_size).to_integral_value(rounding=ROUND_CEILING)
    return [
        _line(
            f"packages of {terms.package_size} agent-hours", packages, Decimal(terms.package_amount)
        )
    ]


_SCHEME_LINES = {
    "per_unit": _per_unit_lines,
    "graduated": _graduated_lines,
    "volume": _volume_lines,
    "package": _package_lines,
}


def price_usage(terms: MeteredTerms, hours: Decimal) -> Breakdown:
    """The month's charge for ``hours`` agent-hours under ``terms``."""
    if hours < 0:
        raise InvalidPriceTerms("Usage cannot be negative.")
    included = min(hours, terms.included_hours)
    free = [_line("included agent-hours", included, ZERO, kind=INCLUDED)] if included else []
    lines = free + _SCHEME_LINES[terms.scheme](terms, hours - included)
    usage = sum(line.amount for line in lines)
    if usage < terms.monthly_minimum:
        top_up = Decimal(terms.monthly_minimum - usage)
        lines.append(_line("monthly minimum top-up", Decimal(1), top_up, kind=MINIMUM))
    if terms.flat_fee:
        lines.append(_line("monthly fee", Decimal(1), Decimal(terms.flat_fee), kind=FEE))
    return Breakdown(terms.currency, tuple(lines))


def price_one_time(amount: int, currency: str, seats: int) -> Breakdown:
    """A one-time purchase: ``seats`` times ``amount``."""
    currency_exponent(currency)
    _amount(amount, "amount")
    if seats < 1:
        raise InvalidPriceTerms("seats must be at least 1.")
    return Breakdown(currency, (_line("seats", Decimal(seats), Decimal(amount), kind=SEATS),))
