"""The smallest amount the card processor (Stripe) takes in one charge, per currency: below it
Stripe refuses the PaymentIntent (400 ``amount_too_small``). Plain data, no Django: read by
``billing.payments`` (collection never asks Stripe for such a charge) and by the localstripe
launcher (which refuses it as Stripe does)."""

from __future__ import annotations

# Stripe's minimum charge amounts (docs.stripe.com/currencies, "Minimum and maximum charge
# amounts"), in minor units of the currency charged. Stripe states them per settlement
# currency: these hold for an account that settles in the currency it charges.
MINIMUM_CHARGE: dict[str, int] = {
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


def minimum_charge(currency: str) -> int:
    """The least ``currency`` charge Stripe takes, in its minor units; 0 for a currency this
    table does not list (Stripe then answers for itself)."""
    return MINIMUM_CHARGE.get(currency.upper(), 0)
