"""Vendor payouts, the arithmetic only: from what customers paid for a vendor's agents in one
currency and period (gross) and what was given back (refunds), the platform's fee and what
the vendor is owed (net). Integer minor units throughout; the rule is documented here once
and in docs/billing.md ("Finance").

    sales        = gross - refunds
    platform_fee = round_half_up(sales * PLATFORM_FEE_PERCENT / 100)   (to a whole minor unit)
    net          = sales - platform_fee

The fee is taken on sales after refunds, so a refund gives the platform's share back too.
A month whose refunds exceed its gross has negative sales: the fee is negative (returned)
and so is the net (carried against the vendor's next payout).
"""

from dataclasses import dataclass
from decimal import Decimal

from marketplace.pricing import round_minor

HUNDRED = Decimal(100)


class InvalidFeePercent(ValueError):
    """PLATFORM_FEE_PERCENT is not a percentage between 0 and 100."""


@dataclass(frozen=True)
class Payout:
    currency: str
    gross: int
    refunds: int
    fee_percent: Decimal
    platform_fee: int
    net: int

    @property
    def sales(self) -> int:
        return self.gross - self.refunds

    def as_dict(self) -> dict:
        return {
            "currency": self.currency,
            "gross": self.gross,
            "refunds": self.refunds,
            "fee_percent": str(self.fee_percent),
            "platform_fee": self.platform_fee,
            "net": self.net,
        }


def check_fee_percent(fee_percent) -> Decimal:
    if isinstance(fee_percent, float) or not isinstance(fee_percent, Decimal | int):
        raise InvalidFeePercent(f"The platform fee must be a Decimal percentage: {fee_percent!r}")
    fee_percent = Decimal(fee_percent)
    if not fee_percent.is_finite() or not 0 <= fee_percent <= HUNDRED:
        raise InvalidFeePercent(f"The platform fee must be 0 to 100 percent: {fee_percent}")
    return fee_percent


def compute_payout(currency: str, gross: int, refunds: int, fee_percent: Decimal) -> Payout:
    """The payout of one vendor, currency and period (amounts in minor units)."""
    fee_percent = check_fee_percent(fee_percent)
    sales = gross - refunds
    fee = round_minor(Decimal(sales) * fee_percent / HUNDRED)
    return Payout(currency, gross, refunds, fee_percent, fee, sales - fee)
