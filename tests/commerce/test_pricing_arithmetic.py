"""The pure price arithmetic: charge models, rounding, minimums and fees (with Hypothesis)."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace import pricing
from marketplace.pricing import InvalidPriceTerms, parse_metered_terms, price_usage

hours = st.decimals(min_value=0, max_value=100_000, places=3, allow_nan=False)
amounts = st.integers(min_value=0, max_value=100_000)


@st.composite
def tier_lists(draw):
    bounds = sorted(draw(st.sets(st.integers(min_value=1, max_value=5000), max_size=4)))
    tiers = [
        {"up_to": b, "unit_amount": draw(amounts), "flat_amount": draw(amounts)} for b in bounds
    ]
    tiers.append({"up_to": None, "unit_amount": draw(amounts), "flat_amount": draw(amounts)})
    return tiers


def graduated(tiers, **extra):
    return parse_metered_terms("USD", {"scheme": "graduated", "tiers": tiers, **extra})


def test_graduated_tiers_price_each_band_at_its_own_rate():
    terms = graduated(
        [
            {"up_to": 100, "unit_amount": 10},
            {"up_to": 200, "unit_amount": 8},
            {"up_to": None, "unit_amount": 5},
        ]
    )
    breakdown = price_usage(terms, Decimal(250))
    assert [line.amount for line in breakdown.lines] == [1000, 800, 250]
    assert breakdown.total == 2050


def test_volume_tiers_price_every_hour_at_the_reached_rate():
    terms = parse_metered_terms(
        "USD",
        {
            "scheme": "volume",
            "tiers": [
                {"up_to": 100, "unit_amount": 10},
                {"up_to": None, "unit_amount": 5, "flat_amount": 99},
            ],
        },
    )
    assert price_usage(terms, Decimal(100)).total == 1000
    assert price_usage(terms, Decimal(101)).total == 101 * 5 + 99


def test_package_charges_every_started_block():
    terms = parse_metered_terms(
        "EUR", {"scheme": "package", "package_size": 50, "package_amount": 400}
    )
    assert price_usage(terms, Decimal("0.001")).total == 400
    assert price_usage(terms, Decimal(50)).total == 400
    assert price_usage(terms, Decimal("50.5")).total == 800
    assert price_usage(terms, Decimal(0)).total == 0


def test_fractional_hours_round_half_up_once_per_line():
    terms = parse_metered_terms("USD", {"scheme": "per_unit", "unit_amount": 3})
    line = price_usage(terms, Decimal("0.5")).lines[0]
    assert line.precise_amount == Decimal("1.5")
    assert line.amount == 2
    assert price_usage(terms, Decimal("0.49")).total == 1  # 1.47 → 1


def test_included_hours_minimum_and_flat_fee():
    terms = parse_metered_terms(
        "USD",
        {
            "scheme": "per_unit",
            "unit_amount": 10,
            "included_hours": "5",
            "monthly_minimum": 500,
            "flat_fee": 300,
        },
    )
    small = price_usage(terms, Decimal(20))  # 15 billable hours → 150, topped up to 500
    first = small.lines[0]  # every hour of the month is accounted for, these at no charge
    assert (first.description, first.quantity, first.amount) == ("included agent-hours", 5, 0)
    assert [line.description for line in small.lines] == [
        "included agent-hours",
        "agent-hours",
        "monthly minimum top-up",
        "monthly fee",
    ]
    assert small.total == 500 + 300
    large = price_usage(terms, Decimal(105))
    assert large.total == 1000 + 300
    assert price_usage(terms, Decimal(3)).total == 500 + 300  # usage inside the free hours


def test_zero_decimal_and_three_decimal_currencies():
    assert pricing.currency_exponent("JPY") == 0
    assert pricing.format_amount(1234, "JPY") == "1234 JPY"
    assert pricing.format_amount(1234, "KWD") == "1.234 KWD"
    assert pricing.format_amount(1234, "USD") == "12.34 USD"
    assert pricing.price_one_time(1500, "JPY", 3).total == 4500


@pytest.mark.parametrize(
    ("currency", "terms", "message"),
    [
        ("XXX", {"scheme": "per_unit", "unit_amount": 1}, "Unknown currency"),
        ("USD", {"scheme": "flat"}, "scheme must be"),
        ("USD", {"scheme": "per_unit", "unit_amount": 1.5}, "integer amount"),
        ("USD", {"scheme": "per_unit", "unit_amount": -1}, "between 0"),
        ("USD", {"scheme": "per_unit"}, "needs"),
        ("USD", {"scheme": "per_unit", "unit_amount": 1, "tiers": []}, "does not take"),
        ("USD", {"scheme": "graduated", "tiers": [{"up_to": 10, "unit_amount": 1}]}, "last tier"),
        (
            "USD",
            {
                "scheme": "graduated",
                "tiers": [
                    {"up_to": 10, "unit_amount": 1},
                    {"up_to": 5, "unit_amount": 1},
                    {"up_to": None, "unit_amount": 1},
                ],
            },
            "strictly increasing",
        ),
        ("USD", {"scheme": "package", "package_size": 0, "package_amount": 1}, "at least 1"),
        ("USD", {"scheme": "per_unit", "unit_amount": 1, "included_hours": 0.5}, "float"),
    ],
)
def test_invalid_terms_are_refused_with_a_reason(currency, terms, message):
    with pytest.raises(InvalidPriceTerms, match=message):
        parse_metered_terms(currency, terms)


@given(tiers=tier_lists(), usage=hours)
def test_total_is_the_sum_of_rounded_lines_each_within_half_a_unit(tiers, usage):
    breakdown = price_usage(graduated(tiers), usage)
    assert breakdown.total == sum(line.amount for line in breakdown.lines)
    for line in breakdown.lines:
        assert abs(Decimal(line.amount) - line.precise_amount) <= Decimal("0.5")
        assert line.amount >= 0


@given(tiers=tier_lists(), a=hours, b=hours)
def test_graduated_charge_never_falls_as_usage_grows(tiers, a, b):
    terms = graduated(tiers)
    low, high = sorted((a, b))
    assert price_usage(terms, low).precise_total <= price_usage(terms, high).precise_total


@given(unit=amounts, usage=hours)
def test_one_tier_graduated_volume_and_per_unit_agree(unit, usage):
    one_tier = [{"up_to": None, "unit_amount": unit}]
    expected = price_usage(
        parse_metered_terms("USD", {"scheme": "per_unit", "unit_amount": unit}), usage
    ).total
    assert price_usage(graduated(one_tier), usage).total == expected
    volume = parse_metered_terms("USD", {"scheme": "volume", "tiers": one_tier})
    assert price_usage(volume, usage).total == expected


@given(tiers=tier_lists(), usage=hours, included=hours)
def test_included_hours_are_free(tiers, usage, included):
    with_free = graduated(tiers, included_hours=str(included))
    expected = price_usage(graduated(tiers), max(Decimal(0), usage - included)).total
    assert price_usage(with_free, usage).total == expected


@given(tiers=tier_lists(), usage=hours, minimum=amounts, fee=amounts)
def test_minimum_is_a_monthly_commitment_and_fee_is_always_added(tiers, usage, minimum, fee):
    terms = graduated(tiers, monthly_minimum=minimum, flat_fee=fee)
    total = price_usage(terms, usage).total
    usage_only = price_usage(graduated(tiers), usage).total
    assert total == max(usage_only, minimum) + fee


@given(tiers=tier_lists(), usage=hours)
def test_stored_terms_parse_back_to_the_same_prices(tiers, usage):
    terms = graduated(tiers, included_hours="1.5", monthly_minimum=7)
    again = parse_metered_terms("USD", pricing.terms_as_json(terms))
    assert again == terms
    assert price_usage(again, usage) == price_usage(terms, usage)


@given(amount=amounts, seats=st.integers(min_value=1, max_value=1000))
def test_one_time_price_is_seats_times_amount(amount, seats):
    assert pricing.price_one_time(amount, "USD", seats).total == amount * seats


# --- the properties the billing issue names, for every scheme ---------------------------------

package_sizes = st.integers(min_value=1, max_value=500)


@st.composite
def monotone_terms(draw):
    """Terms of every scheme whose total must not fall as usage grows (all but volume)."""
    scheme = draw(st.sampled_from(["per_unit", "graduated", "package"]))
    extra = {
        "included_hours": str(draw(hours)),
        "monthly_minimum": draw(amounts),
        "flat_fee": draw(amounts),
    }
    if scheme == "per_unit":
        extra["unit_amount"] = draw(amounts)
    elif scheme == "graduated":
        extra["tiers"] = draw(tier_lists())
    else:
        extra["package_size"] = draw(package_sizes)
        extra["package_amount"] = draw(amounts)
    currency = draw(st.sampled_from(["JPY", "USD", "KWD"]))
    return parse_metered_terms(currency, {"scheme": scheme, **extra})


@given(terms=monotone_terms(), a=hours, b=hours)
def test_total_never_decreases_as_usage_grows(terms, a, b):
    low, high = sorted((a, b))
    assert price_usage(terms, low).total <= price_usage(terms, high).total


@given(tiers=tier_lists(), usage=hours)
def test_graduated_total_is_the_sum_of_its_tier_slices(tiers, usage):
    """Computed independently: each band prices the hours inside it, plus its flat amount."""
    expected, lower = 0, Decimal(0)
    for tier in tiers:
        if usage <= lower:
            break
        upper = usage if tier["up_to"] is None else min(usage, Decimal(tier["up_to"]))
        expected += pricing.round_minor((upper - lower) * tier["unit_amount"] + tier["flat_amount"])
        lower = upper if tier["up_to"] is None else Decimal(tier["up_to"])
    breakdown = price_usage(graduated(tiers), usage)
    assert breakdown.total == expected
    assert sum(line.quantity for line in breakdown.lines) == usage


@given(tiers=tier_lists(), usage=hours.filter(lambda h: h > 0))
def test_volume_prices_every_unit_at_the_reached_tier(tiers, usage):
    reached = next(t for t in tiers if t["up_to"] is None or usage <= t["up_to"])
    terms = parse_metered_terms("USD", {"scheme": "volume", "tiers": tiers})
    (line,) = price_usage(terms, usage).lines
    assert line.quantity == usage
    assert line.unit_amount == reached["unit_amount"]
    precise = usage * reached["unit_amount"] + reached["flat_amount"]
    assert line.amount == pricing.round_minor(precise)


@given(
    tiers=tier_lists(),
    usage=hours,
    scheme=st.sampled_from(["graduated", "volume"]),
    extra=st.fixed_dictionaries({"included_hours": st.integers(0, 50), "flat_fee": amounts}),
)
def test_each_stored_line_is_redone_by_hand_from_its_own_fields(tiers, usage, scheme, extra):
    """What the invoice stores and prints per line: quantity x unit amount + its flat amount
    (the tier's, 0 on other lines) is its precise amount, rounded half-up its amount."""
    terms = parse_metered_terms("USD", {"scheme": scheme, "tiers": tiers, **extra})
    stored = price_usage(terms, usage).as_dict()["lines"]
    flats = {t["flat_amount"] for t in tiers}
    for line in stored:
        redone = Decimal(line["quantity"]) * Decimal(line["unit_amount"]) + line["flat_amount"]
        assert Decimal(line["precise_amount"]) == redone
        assert line["amount"] == pricing.round_minor(redone)
        assert line["flat_amount"] in (flats if line["kind"] == pricing.USAGE else {0})


def test_volume_is_the_scheme_whose_total_may_fall_when_the_next_tier_is_cheaper():
    terms = parse_metered_terms(
        "USD",
        {
            "scheme": "volume",
            "tiers": [{"up_to": 100, "unit_amount": 10}, {"up_to": None, "unit_amount": 5}],
        },
    )
    assert price_usage(terms, Decimal(101)).total < price_usage(terms, Decimal(100)).total


@given(size=package_sizes, amount=amounts, usage=hours.filter(lambda h: h > 0))
def test_package_charges_started_blocks_rounded_up(size, amount, usage):
    terms = parse_metered_terms(
        "USD", {"scheme": "package", "package_size": size, "package_amount": amount}
    )
    (line,) = price_usage(terms, usage).lines
    blocks = int(line.quantity)
    assert (blocks - 1) * size < usage <= blocks * size
    assert line.amount == blocks * amount


@given(terms=monotone_terms())
def test_zero_usage_costs_the_flat_fee_and_the_minimum(terms):
    breakdown = price_usage(terms, Decimal(0))
    assert breakdown.total == terms.flat_fee + terms.monthly_minimum
    assert {line.kind for line in breakdown.lines} <= {pricing.FEE, pricing.MINIMUM}


@pytest.mark.parametrize(
    ("currency", "exponent", "one_major"), [("JPY", 0, 1), ("USD", 2, 100), ("KWD", 3, 1000)]
)
@given(units=st.integers(min_value=0, max_value=10**6))
def test_minor_units_follow_the_iso_4217_exponent(currency, exponent, one_major, units):
    assert pricing.currency_exponent(currency) == exponent
    text = pricing.format_amount(units * one_major, currency)
    assert Decimal(text.split()[0]) == units
    decimals = text.split()[0].partition(".")[2]
    assert len(decimals) == exponent


@pytest.mark.parametrize(
    ("value", "currency", "minor"),
    [("12.34", "USD", 1234), ("-2.5", "EUR", -250), ("700", "JPY", 700), ("1.000", "USD", 100)],
)
def test_amounts_people_write_become_minor_units(value, currency, minor):
    assert pricing.to_minor_units(Decimal(value), currency) == minor


@pytest.mark.parametrize(
    ("value", "currency"),
    [
        ("1.234", "USD"),
        ("0.5", "JPY"),
        ("NaN", "USD"),
        ("Infinity", "EUR"),
        # Past the context's largest exponent: abs() raised decimal.Overflow (a 500).
        ("1e999999999", "USD"),
        ("-1e999999999", "EUR"),
    ],
)
def test_amounts_finer_than_the_currency_or_not_numbers_are_refused(value, currency):
    with pytest.raises(ValueError):
        pricing.to_minor_units(Decimal(value), currency)
