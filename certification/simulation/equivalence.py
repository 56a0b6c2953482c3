"""Firmware/model equivalence: the firmware's outputs against the TFLM reference outputs.

Integer outputs must be equal bit for bit; float outputs may differ by the manifest's declared
tolerance (``|fw - ref| <= atol + rtol * |ref|``, NaN only equal to NaN). A mismatch reports
the first differing input with both outputs, decoded, and which elements differ.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from certification.simulation.harness_abi import Dtype


@dataclass(frozen=True)
class Tolerance:
    atol: float = 0.0
    rtol: float = 0.0


@dataclass(frozen=True)
class Mismatch:
    index: int
    input: list[int] | list[float]
    firmware_output: list[int] | list[float] | None
    reference_output: list[int] | list[float]
    differing_elements: list[int]


@dataclass(frozen=True)
class EquivalenceReport:
    equal: bool
    compared: int
    mismatches: int
    first_mismatch: Mismatch | None = None

    def describe(self) -> str:
        if self.equal:
            return f"all {self.compared} outputs match the reference"
        first = self.first_mismatch
        assert first is not None
        return (
            f"{self.mismatches} of {self.compared} outputs differ; first at input {first.index} "
            f"{first.input}: firmware {first.firmware_output}, "
            f"reference {first.reference_output} (elements {first.differing_elements})"
        )


def _close(firmware: float, reference: float, tolerance: Tolerance) -> bool:
    if math.isnan(firmware) or math.isnan(reference):
        return math.isnan(firmware) and math.isnan(reference)
    if math.isinf(firmware) or math.isinf(reference):
        return firmware == reference
    return abs(firmware - reference) <= tolerance.atol + tolerance.rtol * abs(reference)


def _differing(
    firmware: Sequence[float], reference: Sequence[float], dtype: Dtype, tolerance: Tolerance
) -> list[int]:
    if len(firmware) != len(reference):
        return list(range(max(len(firmware), len(reference))))
    pairs = enumerate(zip(firmware, reference, strict=True))
    if dtype.is_float:
        return [i for i, (f, r) in pairs if not _close(f, r, tolerance)]
    return [i for i, (f, r) in pairs if f != r]


def compare_outputs(
    inputs: Sequence[bytes],
    firmware_outputs: Sequence[bytes | None],
    reference_outputs: Sequence[bytes],
    *,
    input_dtype: Dtype = Dtype.INT8,
    output_dtype: Dtype = Dtype.INT8,
    tolerance: Tolerance | None = None,
) -> EquivalenceReport:
    """Compare output vectors (raw little-endian bytes) input by input."""
    if not len(inputs) == len(firmware_outputs) == len(reference_outputs):
        raise ValueError("inputs, firmware outputs and reference outputs differ in number")
    if tolerance is not None and not output_dtype.is_float:
        raise ValueError("a tolerance applies to float outputs only; integers compare exactly")
    tolerance = tolerance or Tolerance()
    first: Mismatch | None = None
    mismatches = 0
    for index, (vector, firmware, reference) in enumerate(
        zip(inputs, firmware_outputs, reference_outputs, strict=True)
    ):
        expected = output_dtype.decode(reference)
        got = output_dtype.decode(firmware) if firmware is not None else None
        differing = (
            list(range(len(expected)))
            if got is None
            else _differing(got, expected, output_dtype, tolerance)
        )
        if not differing:
            continue
        mismatches += 1
        if first is None:
            first = Mismatch(
                index=index,
                input=input_dtype.decode(vector),
                firmware_output=got,
                reference_output=expected,
                differing_elements=differing,
            )
    return EquivalenceReport(
        equal=mismatches == 0,
        compared=len(inputs),
        mismatches=mismatches,
        first_mismatch=first,
    )
