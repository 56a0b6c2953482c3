"""The pricing page's forms: a plan as a person writes it (prices in major units, tiers as
lines), turned into the integer minor units and terms that marketplace/pricing.py reads."""

import re
from decimal import Decimal

from django import forms

from edgeplug.core.forms import TypedDecimalField, TypedWholeNumberField
from marketplace import pricing
from marketplace.models import PlanKind, PricePlan
from marketplace.plans import plan_fingerprint

# ASCII digits only, as every typed number (edgeplug/core/forms.py): \d takes any script's.
TIER_LINE = re.compile(
    r"^(?P<up_to>\*|\d+(?:\.\d+)?)\s+at\s+(?P<unit>\d+(?:\.\d+)?)"
    r"(?:\s*\+\s*(?P<flat>\d+(?:\.\d+)?))?$",
    re.ASCII,
)
SCHEMES = [
    ("per_unit", "Per agent-hour"),
    ("graduated", "Graduated tiers (each hour at its tier's price)"),
    ("volume", "Volume tiers (all hours at the reached tier's price)"),
    ("package", "Packages of hours"),
]


def minor_units(value: Decimal, currency: str, what: str) -> int:
    """``pricing.to_minor_units`` with the refusal as the form's error."""
    try:
        return pricing.to_minor_units(value, currency)
    except ValueError as refused:
        raise forms.ValidationError(f"{what} {refused}.") from None


# The fields each kind of plan is priced with. A value in another kind's field is refused,
# not dropped: the API refuses such a plan too (``invalid_price_terms``), and a vendor who
# typed a price for a free plan meant something else.
PRICED_BY = {
    PlanKind.FREE: (),
    PlanKind.ONE_TIME: ("price",),
    PlanKind.METERED: (
        "unit_price",
        "tiers",
        "package_size",
        "package_price",
        "included_hours",
        "monthly_minimum",
        "flat_fee",
    ),
}


class PlanForm(forms.Form):
    # What a refusal of the plan rules names (the API's fields), as this form's fields.
    refusal_fields = {"amount": "price"}

    key = forms.SlugField(label="Plan key", max_length=64, help_text="e.g. standard; never changes")
    # Its length counted as typed, as the API's (DocumentTextField) and the page's maxlength
    # count it; then stripped (``clean_name``). Stripped first, 100 characters and a blank
    # were taken here and refused at the API.
    name = forms.CharField(label="Plan name", max_length=100, strip=False)
    kind = forms.ChoiceField(label="Kind", choices=PlanKind.choices, initial=PlanKind.METERED)
    currency = forms.CharField(
        label="Currency", max_length=3, required=False, initial="USD", help_text="ISO 4217"
    )
    price = TypedDecimalField(
        label="One-time price", required=False, min_value=0, help_text="one-time plans only"
    )
    scheme = forms.ChoiceField(label="Metered scheme", choices=SCHEMES, required=False)
    unit_price = TypedDecimalField(
        label="Price per agent-hour", required=False, min_value=0, help_text="per-hour scheme"
    )
    tiers = forms.CharField(
        label="Tiers",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "100 at 0.10\n* at 0.05"}),
        help_text="One per line: “up to HOURS at PRICE” (and “+ FLAT”); “*” for the rest.",
    )
    # The plan rules' limits (marketplace/pricing.py), said at the field in the form's words.
    package_size = TypedWholeNumberField(
        label="Hours per package", required=False, min_value=1, max_value=pricing.MAX_AMOUNT
    )
    package_price = TypedDecimalField(label="Price per package", required=False, min_value=0)
    # Its limits are the plan rules' (``clean_included_hours``); the page's input says them too.
    included_hours = TypedDecimalField(
        label="Included hours per month",
        required=False,
        min_value=0,
        widget=forms.NumberInput(
            attrs={"max": pricing.MAX_HOURS, "step": Decimal(1).scaleb(-pricing.HOURS_PLACES)}
        ),
    )
    monthly_minimum = TypedDecimalField(label="Monthly minimum", required=False, min_value=0)
    flat_fee = TypedDecimalField(label="Monthly flat fee", required=False, min_value=0)

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(self.fields["name"].error_messages["required"])
        return name

    def clean_included_hours(self):
        """The plan rules' hours (``pricing.new_hours_refusal``): the API takes 10.5000000, so the
        form does too, where Django's own decimal-places check counted the trailing zeros."""
        hours = self.cleaned_data.get("included_hours")
        if hours is not None and (refusal := pricing.new_hours_refusal(hours)):
            raise forms.ValidationError(f"{hours} {refusal}.")
        return hours

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        kind = data["kind"]
        self._reject_other_kinds_prices(data, kind)
        currency = (data.get("currency") or "").upper()
        if kind == PlanKind.FREE:
            data.update(currency="", amount=0, terms={})
            return data
        try:
            pricing.currency_exponent(currency)
        except pricing.InvalidPriceTerms as exc:
            raise self._in_field("currency", forms.ValidationError(str(exc))) from exc
        data["currency"] = currency
        if kind == PlanKind.ONE_TIME:
            if data.get("price") is None:
                raise self._in_field(
                    "price", forms.ValidationError("A one-time plan needs its price.")
                )
            data.update(amount=self._minor("price", data["price"], currency, "The price"), terms={})
            return data
        data.update(amount=0, terms=self._metered_terms(data, currency))
        return data

    def _in_field(self, name: str, error: forms.ValidationError) -> forms.ValidationError:
        """``error`` as the error of the field ``name`` when the form shows it: the page marks
        that field and focuses it, rather than saying it over the whole form."""
        return forms.ValidationError({name: error}) if name in self.fields else error

    def _minor(self, name: str, value: Decimal, currency: str, what: str) -> int:
        try:
            return minor_units(value, currency, what)
        except forms.ValidationError as exc:
            raise self._in_field(name, exc) from None

    def _reject_other_kinds_prices(self, data, kind: str) -> None:
        """Each price of another kind is refused at its field."""
        stray = {
            name: forms.ValidationError(
                f"A {PlanKind(kind).label.lower()} plan takes no "
                f"{self.fields[name].label.lower()}: clear it."
            )
            for other, names in PRICED_BY.items()
            if other != kind
            for name in names
            if data.get(name) not in (None, "")
        }
        if stray:
            raise forms.ValidationError(stray)

    def _metered_terms(self, data, currency: str) -> dict:
        """The terms of every price the form holds. One that belongs to another scheme goes in
        too, for the action to refuse as the API does (``invalid_price_terms``: "The per_unit
        scheme does not take ['tiers']"); dropped here, the plan stored was not the one typed."""
        scheme = data.get("scheme") or "per_unit"
        self._reject_scheme_without_its_prices(data, scheme)
        terms: dict = {"scheme": scheme}
        if data.get("unit_price") is not None:
            terms["unit_amount"] = self._minor(
                "unit_price", data["unit_price"], currency, "The hourly price"
            )
        if scheme in ("graduated", "volume") or data.get("tiers"):
            try:
                terms["tiers"] = self._tiers(data.get("tiers") or "", currency)
            except forms.ValidationError as exc:
                raise self._in_field("tiers", exc) from None
        if data.get("package_size") is not None:
            terms["package_size"] = data["package_size"]
        if data.get("package_price") is not None:
            terms["package_amount"] = self._minor(
                "package_price", data["package_price"], currency, "The price"
            )
        if data.get("included_hours"):
            terms["included_hours"] = str(data["included_hours"])
        for field, label in (("monthly_minimum", "The minimum"), ("flat_fee", "The flat fee")):
            if data.get(field):
                terms[field] = self._minor(field, data[field], currency, label)
        return terms

    def _reject_scheme_without_its_prices(self, data, scheme: str) -> None:
        if scheme == "per_unit" and data.get("unit_price") is None:
            raise self._in_field(
                "unit_price", forms.ValidationError("Give the price per agent-hour.")
            )
        if scheme == "package" and (
            not data.get("package_size") or data.get("package_price") is None
        ):
            missing = "package_size" if not data.get("package_size") else "package_price"
            raise self._in_field(
                missing, forms.ValidationError("Give the hours per package and its price.")
            )

    @staticmethod
    def _check_bound(line: str, bound: Decimal, before: list[dict]) -> None:
        """The plan rules' tier bounds (positive, rising, ``pricing.new_hours_refusal``) in
        the form's words, naming the line."""
        if refusal := pricing.new_hours_refusal(bound):
            raise forms.ValidationError(f"Tier “{line}”: {bound} {refusal}.")
        previous = before[-1]["up_to"] if before else "0"
        if previous is not None and bound <= Decimal(previous):
            raise forms.ValidationError(
                f"Tier “{line}”: its hours must be above the line before's ({previous})."
                if before
                else f"Tier “{line}”: its hours must be above 0."
            )

    def _tiers(self, text: str, currency: str) -> list[dict]:
        tiers = []
        for line in (line.strip() for line in text.splitlines()):
            if not line:
                continue
            match = TIER_LINE.match(line)
            if match is None:
                raise forms.ValidationError(f"Tier “{line}” is not “HOURS at PRICE”.")
            if match["up_to"] != "*":
                self._check_bound(line, Decimal(match["up_to"]), tiers)
            tier = {
                "up_to": None if match["up_to"] == "*" else match["up_to"],
                "unit_amount": minor_units(Decimal(match["unit"]), currency, "A tier price"),
            }
            if match["flat"]:
                tier["flat_amount"] = minor_units(Decimal(match["flat"]), currency, "A flat amount")
            tiers.append(tier)
        if not tiers:
            raise forms.ValidationError("Tiered schemes need at least one tier.")
        if any(tier["up_to"] is None for tier in tiers[:-1]):
            raise forms.ValidationError(
                "“* at PRICE” prices the hours above the last bound: make it the last line."
            )
        if (last := tiers[-1]["up_to"]) is not None:
            raise forms.ValidationError(
                f"End the tiers with a line “* at PRICE”: the price of the hours above {last}."
            )
        return tiers


class RevisePlanForm(PlanForm):
    """A plan's new name and price: the pricing form's fields of the plan's kind, validated as
    a new plan's are. The kind never changes (nor at the API), and neither does the key."""

    # The plan as the page showed it (``plans.plan_fingerprint``): saving
    # a plan changed since is refused (plan_changed) rather than undoing that change unseen.
    seen = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, plan: PricePlan, **kwargs):
        super().__init__(
            *args, initial={**as_typed(plan), "seen": plan_fingerprint(plan)}, **kwargs
        )
        self.kind = plan.kind
        shown = {"name", *PRICED_BY[plan.kind]}
        if plan.kind != PlanKind.FREE:
            shown.add("currency")
        if plan.kind == PlanKind.METERED:
            shown.add("scheme")
        for name in set(self.fields) - shown - {"seen"}:
            del self.fields[name]

    def clean(self):
        self.cleaned_data["kind"] = self.kind
        return super().clean()


def as_typed(plan: PricePlan) -> dict:
    """The plan's name and price as a person types them into the form (what ``PlanForm``
    turns back into the same currency, amount and terms)."""
    typed = {"name": plan.name, "currency": plan.currency}
    if plan.kind == PlanKind.ONE_TIME:
        typed["price"] = pricing.major_units(plan.amount, plan.currency)
    elif plan.kind == PlanKind.METERED:
        typed.update(_typed_terms(pricing.parse_metered_terms(plan.currency, plan.terms)))
    return typed


def _typed_terms(terms: pricing.MeteredTerms) -> dict:
    money = lambda amount: pricing.major_units(amount, terms.currency)  # noqa: E731
    typed: dict = {"scheme": terms.scheme}
    if terms.scheme == "per_unit":
        typed["unit_price"] = money(terms.unit_amount)
    elif terms.scheme == "package":
        typed.update(package_size=terms.package_size, package_price=money(terms.package_amount))
    else:
        typed["tiers"] = "\n".join(_typed_tier(tier, money) for tier in terms.tiers)
    if terms.included_hours:
        typed["included_hours"] = f"{terms.included_hours:f}"
    if terms.monthly_minimum:
        typed["monthly_minimum"] = money(terms.monthly_minimum)
    if terms.flat_fee:
        typed["flat_fee"] = money(terms.flat_fee)
    return typed


def _typed_tier(tier: pricing.Tier, money) -> str:
    """A tier as a line of ``TIER_LINE``: "100 at 0.10", "* at 0.05 + 1.00"."""
    up_to = "*" if tier.up_to is None else f"{tier.up_to:f}"
    line = f"{up_to} at {money(tier.unit_amount)}"
    return f"{line} + {money(tier.flat_amount)}" if tier.flat_amount else line


class CalculatorForm(forms.Form):
    plan = forms.TypedChoiceField(label="Plan", coerce=int)
    hours = TypedDecimalField(
        label="Agent-hours in a month", min_value=0, max_digits=12, decimal_places=3
    )

    def __init__(self, *args, plans=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].choices = [(p.pk, f"{p.name} (v{p.version})") for p in plans]
