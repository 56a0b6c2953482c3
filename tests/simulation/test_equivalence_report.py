"""Equivalence rules: integers bit-exact, floats within the declared tolerance."""

from __future__ import annotations

import math
import struct

import pytest

from certification.simulation.equivalence import Tolerance, compare_outputs
from certification.simulation.harness_abi import Dtype


def _floats(*values: float) -> bytes:
    return struct.pack(f"<{len(values)}f", *values)


def test_int8_outputs_must_match_exactly():
    report = compare_outputs([b"\x01"], [b"\x05\x06"], [b"\x05\x07"])

    assert not report.equal
    assert report.first_mismatch.differing_elements == [1]
    assert report.first_mismatch.firmware_output == [5, 6]


def test_missing_firmware_output_is_a_mismatch():
    report = compare_outputs([b"\x01", b"\x02"], [b"\x05", None], [b"\x05", b"\x05"])

    assert report.mismatches == 1
    assert report.first_mismatch.index == 1
    assert report.first_mismatch.firmware_output is None


def test_float_outputs_within_tolerance_pass():
    inputs = [_floats(0.5)]
    report = compare_outputs(
        inputs,
        [_floats(1.0004, -2.0)],
        [_floats(1.0, -2.0)],
        input_dtype=Dtype.FLOAT32,
        output_dtype=Dtype.FLOAT32,
        tolerance=Tolerance(atol=1e-3),
    )

    assert report.equal, report.describe()


def test_float_outputs_beyond_tolerance_and_nan_fail():
    report = compare_outputs(
        [_floats(0.5), _floats(0.6)],
        [_floats(1.1), _floats(math.nan)],
        [_floats(1.0), _floats(0.0)],
        input_dtype=Dtype.FLOAT32,
        output_dtype=Dtype.FLOAT32,
        tolerance=Tolerance(atol=1e-3, rtol=1e-3),
    )

    assert report.mismatches == 2
    assert report.first_mismatch.input == [0.5]


def test_a_tolerance_is_refused_for_integer_outputs():
    with pytest.raises(ValueError):
        compare_outputs([b"\x01"], [b"\x01"], [b"\x01"], tolerance=Tolerance(atol=1))
