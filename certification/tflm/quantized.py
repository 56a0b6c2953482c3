"""TFLite Micro's int8 fixed-point arithmetic, bit for bit, in plain Python.

The firmware equivalence check compares a vendor's (or our fixture's) C implementation with
TFLM's outputs bit for bit, so the arithmetic has to be the reference kernels' exactly:
``QuantizeMultiplier`` (tensorflow/lite/kernels/internal/quantization_util.cc) turns a real
rescale factor into a Q31 multiplier and a power-of-two shift, and
``MultiplyByQuantizedMultiplier`` (tensorflow/lite/kernels/internal/common.h, the default
double-rounding variant, i.e. built without ``TFLITE_SINGLE_ROUNDING``) applies it with
gemmlowp's ``SaturatingRoundingDoublingHighMul`` and ``RoundingDivideByPOT``. The test suite
checks these functions against the interpreter in the pinned ``tflite-micro`` wheel.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1
INT8_MIN = -128
INT8_MAX = 127


def _round_half_away(value: float) -> int:
    """C's ``std::round`` (TfLiteRound): halves go away from zero, unlike Python's round()."""
    return int(math.copysign(math.floor(abs(value) + 0.5), value))


def quantize_multiplier(real_multiplier: float) -> tuple[int, int]:
    """Return TFLM's ``(quantized_multiplier, shift)`` for a positive real multiplier.

    ``real_multiplier ~= quantized_multiplier * 2**(shift - 31)``; a positive shift is a
    left shift.
    """
    if real_multiplier == 0.0:
        return 0, 0
    mantissa, shift = math.frexp(real_multiplier)
    q_fixed = _round_half_away(mantissa * (1 << 31))
    if q_fixed == 1 << 31:
        q_fixed //= 2
        shift += 1
    # TFLM flushes multipliers below 2**-31 to zero rather than shifting every bit out.
    if shift < -31:
        return 0, 0
    return q_fixed, shift


def _wrap_int32(value: int) -> int:
    """Two's-complement wrap, as C's int32 arithmetic does on the targets we care about."""
    return ((value + (1 << 31)) % (1 << 32)) - (1 << 31)


def saturating_rounding_doubling_high_mul(a: int, b: int) -> int:
    """gemmlowp's SaturatingRoundingDoublingHighMul for int32 operands."""
    if a == b == INT32_MIN:
        return INT32_MAX
    product = a * b
    nudge = (1 << 30) if product >= 0 else 1 - (1 << 30)
    # C integer division truncates toward zero; Python's // floors, so divide magnitudes.
    numerator = product + nudge
    quotient = abs(numerator) // (1 << 31)
    return _wrap_int32(quotient if numerator >= 0 else -quotient)


def rounding_divide_by_pot(x: int, exponent: int) -> int:
    """gemmlowp's RoundingDivideByPOT: arithmetic shift right, rounding half away from zero."""
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


def multiply_by_quantized_multiplier(x: int, quantized_multiplier: int, shift: int) -> int:
    """TFLM's MultiplyByQuantizedMultiplier (double rounding), on int32 values."""
    left_shift = shift if shift > 0 else 0
    right_shift = 0 if shift > 0 else -shift
    return rounding_divide_by_pot(
        saturating_rounding_doubling_high_mul(
            _wrap_int32(x * (1 << left_shift)), quantized_multiplier
        ),
        right_shift,
    )


def quantize_value(real: float, scale: float, zero_point: int, qmin: int, qmax: int) -> int:
    """Affine quantization as TFLM's QUANTIZE kernel does it: round half away, then clamp."""
    return max(qmin, min(qmax, _round_half_away(real / scale) + zero_point))


def relu_activation_range(zero_point: int, scale: float) -> tuple[int, int]:
    """CalculateActivationRangeQuantized for kTfLiteActRelu on an int8 output."""
    return max(INT8_MIN, zero_point + _round_half_away(0.0 / scale)), INT8_MAX


def fully_connected_int8(
    inputs: Sequence[int],
    weights: Sequence[Sequence[int]],
    bias: Sequence[int],
    input_zero_point: int,
    output_multiplier: int,
    output_shift: int,
    output_zero_point: int,
    activation_min: int,
    activation_max: int,
) -> list[int]:
    """reference_integer_ops::FullyConnected for one batch row with per-tensor weights.

    Weights are symmetric (zero point 0), so the filter offset term vanishes.
    """
    outputs = []
    for row, row_bias in zip(weights, bias, strict=True):
        acc = sum(w * (x - input_zero_point) for w, x in zip(row, inputs, strict=True))
        acc = _wrap_int32(acc + row_bias)
        acc = multiply_by_quantized_multiplier(acc, output_multiplier, output_shift)
        acc += output_zero_point
        outputs.append(max(activation_min, min(activation_max, acc)))
    return outputs
