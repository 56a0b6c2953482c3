"""The payout arithmetic: fee on gross less refunds, half-up, and nothing lost or made."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.payouts import InvalidFeePercent, compute_payout

amounts = st.integers(min_value=0, max_value=10**12)
percents = st.decimals(min_value=0, max_value=100, places=2, allow_nan=False)


def test_a_month_of_sales_pays_the_vendor_what_is_left_after_the_fee():
    payout = compute_payout("EUR", 7100, 0, Decimal(20))
    assert (payout.platform_fee, payout.net) == (1420, 5680)


def test_the_fee_rounds_half_up_to_a_whole_minor_unit():
    assert compute_payout("EUR", 1, 0, Decimal(50)).platform_fee == 1  # 0.5 → 1
    assert compute_payout("EUR", 1, 0, Decimal("49.99")).platform_fee == 0
    assert compute_payout("JPY", 333, 0, Decimal("12.5")).platform_fee == 42  # 41.625


def test_refunds_beyond_the_months_sales_return_the_fee_and_leave_a_negative_net():
    payout = compute_payout("EUR", 1000, 6000, Decimal(20))
    assert (payout.sales, payout.platform_fee, payout.net) == (-5000, -1000, -4000)


@given(amounts, amounts, percents)
def test_gross_is_exactly_refunds_fee_and_net(gross, refunds, percent):
    payout = compute_payout("USD", gross, refunds, percent)
    assert payout.refunds + payout.platform_fee + payout.net == payout.gross


@given(amounts, percents)
def test_the_fee_is_never_more_than_the_sales_nor_negative_on_sales(sales, percent):
    fee = compute_payout("USD", sales, 0, percent).platform_fee
    assert 0 <= fee <= sales


@given(amounts, amounts, percents)
def test_more_sales_never_mean_a_smaller_net(sales, more, percent):
    assert (
        compute_payout("EUR", sales + more, 0, percent).net
        >= compute_payout("EUR", sales, 0, percent).net
    )


@pytest.mark.parametrize("percent", [Decimal(-1), Decimal("100.01"), 20.0, "20", Decimal("NaN")])
def test_a_fee_that_is_not_a_decimal_percentage_is_refused(percent):
    with pytest.raises(InvalidFeePercent):
        compute_payout("EUR", 100, 0, percent)
