"""Every currency the product accepts has a minimum card charge: without one, an invoice
below what Stripe takes in it is charged anyway, refused (``amount_too_small``) and failed
into the dunning, and a one-time plan priced below it can never be paid. The two tables
(``marketplace.pricing`` and ``billing.charge_minimums``) must not drift apart; nor must the
three-decimal currencies, whose charges Stripe takes only as a multiple of 10 minor units."""

import pytest

from billing import payments
from billing.charge_minimums import CHARGE_STEP, MINIMUM_CHARGE, chargeable, minimum_charge
from marketplace.pricing import CURRENCY_EXPONENTS


def test_every_accepted_currency_has_a_minimum_charge():
    assert sorted(c for c in CURRENCY_EXPONENTS if minimum_charge(c) <= 0) == []
    assert set(MINIMUM_CHARGE) >= set(CURRENCY_EXPONENTS)


@pytest.mark.parametrize(
    ("amount", "currency", "said"),
    [
        (300, "KRW", "300 KRW is below the card processor's minimum charge of 1000 KRW"),
        (150, "KWD", "0.150 KWD is below the card processor's minimum charge of 0.200 KWD"),
        (399, "CNY", "3.99 CNY is below the card processor's minimum charge of 4.00 CNY"),
    ],
)
def test_a_charge_below_the_minimum_of_a_currency_stripe_does_not_list_is_not_asked_for(
    amount, currency, said
):
    assert payments.below_minimum_charge(amount, currency) == said
    assert payments.below_minimum_charge(minimum_charge(currency), currency) == ""


def test_every_three_decimal_currency_is_charged_in_steps_of_ten_and_its_minimum_is_one():
    three_decimal = {c for c, exponent in CURRENCY_EXPONENTS.items() if exponent == 3}
    assert set(CHARGE_STEP) == three_decimal == {"BHD", "JOD", "KWD", "OMR", "TND"}
    assert all(minimum_charge(c) % CHARGE_STEP[c] == 0 for c in three_decimal)


@pytest.mark.parametrize(
    ("amount", "currency", "charged"),
    [(215, "KWD", 210), (5129, "bhd", 5120), (9, "OMR", 0), (215, "EUR", 215), (-215, "KWD", -215)],
)
def test_only_a_three_decimal_amount_is_rounded_down_to_what_stripe_charges(
    amount, currency, charged
):
    assert chargeable(amount, currency) == charged
