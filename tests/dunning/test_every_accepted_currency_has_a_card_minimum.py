"""Every currency the product accepts has a minimum card charge: without one, an invoice
below what Stripe takes in it is charged anyway, refused (``amount_too_small``) and failed
into the dunning, and a one-time plan priced below it can never be paid. The two tables
(``marketplace.pricing`` and ``billing.charge_minimums``) must not drift apart."""

import pytest

from billing import payments
from billing.charge_minimums import MINIMUM_CHARGE, minimum_charge
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
