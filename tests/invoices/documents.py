"""Invoice documents the tests render: a seller, buyers, and documents whose figures add up."""

from dataclasses import replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from billing.documents.document import DocumentLine, InvoiceDocument, Party, vat_amount

SELLER = Party(
    legal_name="EdgePlug SAS",
    address_lines=("12 rue des Capteurs",),
    postcode="69001",
    city="Lyon",
    country="FR",
    tax_id="FR40123456824",
    emails=("billing@edgeplug.example",),
)
BUYER = Party(
    legal_name="Acme Robotics GmbH",
    address_lines=("Werkstraße 5", "Halle 3"),
    postcode="10115",
    city="Berlin",
    country="DE",
    tax_id="DE123456789",
    emails=("ap@acme.example", "cfo@acme.example"),
)

# Per currency, in minor units: first 100 agent-hours, hours above, monthly fee.
PRICES = {"EUR": ("10", "5", 4900), "JPY": ("15", "8", 7000), "KWD": ("30", "15", 15000)}


def invoice(currency="EUR", tax_rate="20", reverse_charge=False, **changes) -> InvoiceDocument:
    """A month's invoice: a graduated agent-hour line (with its tier slices) and a flat fee."""
    first, above, fee = PRICES.get(currency, PRICES["EUR"])
    tiers = [
        {"tier": "0-100", "quantity": "100", "unit_amount": first, "amount": 0},
        {"tier": "100-", "quantity": "25.5", "unit_amount": above, "amount": 0},
    ]
    for slice_ in tiers:
        precise = Decimal(slice_["quantity"]) * Decimal(slice_["unit_amount"])
        slice_["amount"] = int(precise.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    metered = sum(s["amount"] for s in tiers)
    lines = (
        DocumentLine(
            description="Agent-hours, vibration-anomaly 1.4 (graduated)",
            quantity=Decimal("125.5"),
            unit="agent-hour",
            unit_amount=(Decimal(metered) / Decimal("125.5")).quantize(Decimal("0.0001")),
            amount=metered,
            breakdown=tuple(tiers),
        ),
        DocumentLine(
            description="Monthly platform fee",
            quantity=Decimal(1),
            unit="month",
            unit_amount=Decimal(fee),
            amount=fee,
        ),
    )
    subtotal = sum(line.amount for line in lines)
    rate = Decimal(tax_rate)
    tax = 0 if reverse_charge else vat_amount(subtotal, rate)
    doc = InvoiceDocument(
        kind="invoice",
        number="EP-2026-000042",
        issue_date=date(2026, 8, 4),
        period_start=date(2026, 7, 1),
        period_end=date(2026, 7, 31),
        due_date=date(2026, 9, 3),
        currency=currency,
        seller=SELLER,
        buyer=BUYER,
        lines=lines,
        tax_rate=rate,
        reverse_charge=reverse_charge,
        subtotal=subtotal,
        tax=tax,
        total=subtotal + tax,
    )
    return replace(doc, **changes)
