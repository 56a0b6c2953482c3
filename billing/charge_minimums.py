"""What the card processor (Stripe) takes in one charge, per currency: the smallest amount
(below it Stripe refuses the PaymentIntent, 400 ``amount_too_small``), the largest
(``MAXIMUM_CHARGE``, above it ``amount_too_large``), and the step an amount must be a multiple
of (three-decimal currencies: the last digit 0). Plain data, no Django: read by
``billing.payments`` and ``billing.models`` (collection never asks Stripe for a charge below
the minimum) and by the localstripe launcher (which refuses what Stripe refuses)."""

from __future__ import annotations

# Every currency ``marketplace.pricing.CURRENCY_EXPONENTS`` accepts has one (a test keeps the
# two tables together), in minor units of the currency charged.
#
# Stripe's minimum charge amounts (docs.stripe.com/currencies, "Minimum and maximum charge
# amounts") for the currencies it lists; Stripe states them per settlement currency: these hold
# for an account that settles in the currency it charges.
_LISTED_BY_STRIPE: dict[str, int] = {
    "AED": 200,
    "AUD": 50,
    "BGN": 100,
    "BRL": 50,
    "CAD": 50,
    "CHF": 50,
    "CZK": 1500,
    "DKK": 250,
    "EUR": 50,
    "GBP": 30,
    "HKD": 400,
    "HUF": 17500,
    "INR": 50,
    "JPY": 50,
    "MXN": 1000,
    "MYR": 200,
    "NOK": 300,
    "NZD": 50,
    "PLN": 200,
    "RON": 200,
    "SEK": 300,
    "SGD": 50,
    "THB": 1000,
    "USD": 50,
}

# The seven currencies we accept that Stripe's table does not name. Stripe converts such a
# charge to the settlement currency and refuses it below that currency's minimum (USD 0.50,
# EUR 0.50 …), so each is a conservative round amount worth at least USD 0.50 with room for
# the exchange rate to move (at 2025 rates, roughly): BHD 0.200 (USD 0.53), CNY 4.00
# (USD 0.55), JOD 0.400 (USD 0.56), KRW 1,000 (USD 0.70), KWD 0.200 (USD 0.65), OMR 0.200
# (USD 0.52), TND 2.000 (USD 0.65). The three-decimal ones end in 0, as Stripe wants the
# amounts of those currencies to.
_NOT_LISTED_BY_STRIPE: dict[str, int] = {
    "BHD": 200,
    "CNY": 400,
    "JOD": 400,
    "KRW": 1000,
    "KWD": 200,
    "OMR": 200,
    "TND": 2000,
}

MINIMUM_CHARGE: dict[str, int] = {**_LISTED_BY_STRIPE, **_NOT_LISTED_BY_STRIPE}


# Stripe's largest amount: "the amount value supports up to eight digits (e.g., a value of
# 99999999 for a USD charge of $999,999.99)" (the PaymentIntent's ``amount``); only IDR, which
# we do not accept, takes more. In minor units, whatever the currency (JPY 99,999,999).
MAXIMUM_CHARGE = 99_999_999


def minimum_charge(currency: str) -> int:
    """The least ``currency`` charge Stripe takes, in its minor units; 0 for a currency this
    table does not list (none the product accepts: Stripe then answers for itself)."""
    return MINIMUM_CHARGE.get(currency.upper(), 0)


# Stripe takes amounts in the three-decimal currencies (BHD, JOD, KWD, OMR, TND) only with
# the least significant digit 0 (docs.stripe.com/currencies, "Three-decimal currencies": e.g.
# KWD 5.124 must be sent as 5120 or 5130), whatever the payment partner. Every currency
# ``marketplace.pricing.CURRENCY_EXPONENTS`` gives three decimals is here (a test keeps the two
# tables together); the others take any whole number of minor units.
CHARGE_STEP: dict[str, int] = {
    "BHD": 10,
    "JOD": 10,
    "KWD": 10,
    "OMR": 10,
    "TND": 10,
}


def charge_step(currency: str) -> int:
    """The minor units a ``currency`` charge must be a multiple of (1 for most)."""
    return CHARGE_STEP.get(currency.upper(), 1)


def chargeable(amount: int, currency: str) -> int:
    """``amount`` (minor units) rounded down to what Stripe can charge in ``currency``:
    ``215, "KWD"`` -> ``210``. Down, so a charge never asks more than was invoiced; zero and
    negative amounts (nothing to charge) are returned as they are."""
    if amount <= 0:
        return amount
    return amount - amount % charge_step(currency)


def rounding(amount: int, currency: str) -> int:
    """What ``chargeable`` takes off ``amount``: 0, or down by less than one step (an
    invoice's ``rounding_amount``, EN 16931 BT-114)."""
    return chargeable(amount, currency) - amount
