"""A firmware that disagrees with its model fails equivalence, showing the first difference."""

from __future__ import annotations

import pytest

from certification.simulation.equivalence import compare_outputs
from tests.simulation.conftest import SENSOR_VECTORS

pytestmark = pytest.mark.qemu


def test_disagreeing_firmware_reports_first_differing_input(qemu, native_build, tflm_reference):
    # Inputs 0 and 1 have a non-negative first element, so the fixture's bug first shows at 2.
    vectors = [SENSOR_VECTORS[3], SENSOR_VECTORS[1], SENSOR_VECTORS[2], SENSOR_VECTORS[0]]
    result = qemu.run(
        native_build.elf("cortex-m4", "disagree"), "cortex-m4", vectors, output_size=3
    )
    reference = [tflm_reference(v) for v in vectors]

    assert result.ok, "the run itself completes; only the outputs are wrong"
    report = compare_outputs(vectors, result.outputs, reference)

    assert not report.equal
    assert report.mismatches == 2
    first = report.first_mismatch
    assert first is not None
    assert first.index == 2
    assert first.input == [-16, 1, 2, 3]
    assert first.differing_elements == [0]
    assert first.firmware_output[0] == first.reference_output[0] + 1
    assert "first at input 2" in report.describe()
