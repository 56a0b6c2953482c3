"""TFLM's fixed-point helpers, checked against values worked out by hand."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from certification.tflm import quantized


@pytest.mark.parametrize(
    ("real", "expected"),
    [
        (0.5, (1 << 30, 0)),
        (1.0, (1 << 30, 1)),
        (0.75, (3 << 29, 0)),
        (3.0, (3 << 29, 2)),
        (0.0, (0, 0)),
        (2.0**-40, (0, 0)),  # below 2**-31: flushed to zero, as TFLM does
        (1.0 - 2.0**-40, (1 << 30, 1)),  # mantissa rounds up to 2**31 and is renormalized
    ],
)
def test_quantize_multiplier_matches_hand_values(real, expected):
    assert quantized.quantize_multiplier(real) == expected


@pytest.mark.parametrize(
    ("x", "exponent", "expected"),
    [(5, 1, 3), (-5, 1, -3), (4, 1, 2), (-4, 1, -2), (7, 2, 2), (-7, 2, -2), (6, 2, 2)],
)
def test_rounding_divide_by_pot_rounds_half_away_from_zero(x, exponent, expected):
    assert quantized.rounding_divide_by_pot(x, exponent) == expected


def test_doubling_high_mul_saturates_and_truncates_like_gemmlowp():
    int32_min = quantized.INT32_MIN
    assert quantized.saturating_rounding_doubling_high_mul(int32_min, int32_min) == (1 << 31) - 1
    assert quantized.saturating_rounding_doubling_high_mul(1 << 30, 1 << 30) == 1 << 29
    assert quantized.saturating_rounding_doubling_high_mul(-(1 << 30), 1 << 30) == -(1 << 29)


@given(
    x=st.integers(-(1 << 20), 1 << 20),
    real=st.floats(1e-4, 64.0, allow_nan=False, allow_infinity=False),
)
def test_quantized_multiply_approximates_the_real_product(x, real):
    multiplier, shift = quantized.quantize_multiplier(real)
    result = quantized.multiply_by_quantized_multiplier(x, multiplier, shift)
    assert abs(result - x * real) <= 1 + abs(x * real) * 2.0**-30


def test_quantize_value_rounds_half_away_and_clamps():
    assert quantized.quantize_value(0.5, 1.0, 0, -128, 127) == 1
    assert quantized.quantize_value(-0.5, 1.0, 0, -128, 127) == -1
    assert quantized.quantize_value(1000.0, 1.0, 0, -128, 127) == 127
    assert quantized.quantize_value(-1000.0, 1.0, 3, -128, 127) == -128
    assert quantized.relu_activation_range(-128, 1 / 255) == (-128, 127)
    assert quantized.relu_activation_range(-77, 0.04) == (-77, 127)
    assert math.isclose(quantized.quantize_value(0.25, 0.5, -10, -128, 127), -9)
