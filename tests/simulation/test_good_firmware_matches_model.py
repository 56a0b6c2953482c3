"""The good fixture firmware reproduces its TFLM model bit for bit, with stable counts."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certification.simulation import latency
from certification.simulation.boards import BOARDS
from certification.simulation.equivalence import compare_outputs
from tests.simulation.conftest import SENSOR_VECTORS

pytestmark = pytest.mark.qemu

OUTPUT_SIZE = 3


@pytest.mark.parametrize("core", sorted(BOARDS))
def test_good_firmware_outputs_equal_tflm_on_every_board(qemu, native_build, tflm_reference, core):
    result = qemu.run(
        native_build.elf(core, "good"), core, list(SENSOR_VECTORS), output_size=OUTPUT_SIZE
    )

    assert result.ok, result.detail
    reference = [tflm_reference(vector) for vector in SENSOR_VECTORS]
    report = compare_outputs(SENSOR_VECTORS, result.outputs, reference)
    assert report.equal, report.describe()
    assert len(result.instruction_counts) == len(SENSOR_VECTORS)
    assert all(count > 0 for count in result.instruction_counts)


def test_instruction_counts_are_identical_on_every_run(qemu, native_build):
    elf = native_build.elf("cortex-m4", "good")
    runs = [
        qemu.run(elf, "cortex-m4", list(SENSOR_VECTORS), output_size=OUTPUT_SIZE) for _ in range(2)
    ]

    assert runs[0].ok and runs[1].ok
    assert runs[0].instruction_counts == runs[1].instruction_counts
    assert runs[0].total_instructions == runs[1].total_instructions


def test_latency_estimate_from_counted_instructions_passes_the_gate(qemu, native_build):
    result = qemu.run(
        native_build.elf("cortex-m4", "good"), "cortex-m4", list(SENSOR_VECTORS), output_size=3
    )
    estimate = latency.estimate_latency(result.instruction_counts, "cortex-m4", clock_mhz=64)

    print(
        f"good firmware on cortex-m4 @ 64 MHz: {result.instruction_counts} instructions per call, "
        f"{estimate.min_us:.2f}/{estimate.median_us:.2f}/{estimate.max_us:.2f} us min/median/max"
    )
    assert estimate.max_us == pytest.approx(max(result.instruction_counts) * 1.4 / 64)
    assert latency.judge_latency(estimate, limit_us=500, declared_us=100).passed


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(vectors=st.lists(st.binary(min_size=4, max_size=4), min_size=1, max_size=24, unique=True))
def test_good_firmware_matches_tflm_on_generated_inputs(
    qemu, native_build, tflm_reference, vectors
):
    result = qemu.run(native_build.elf("cortex-m4", "good"), "cortex-m4", vectors, output_size=3)

    assert result.ok, result.detail
    report = compare_outputs(vectors, result.outputs, [tflm_reference(v) for v in vectors])
    assert report.equal, report.describe()
