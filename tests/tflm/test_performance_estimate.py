"""MAC counts and latency estimates, checked against hand calculations."""

from __future__ import annotations

import pytest

from certification.tflm import performance, sample_models
from certification.tflm.graph import GraphInfo, OperatorInfo, TensorInfo
from certification.tflm.performance import PerformanceReport
from certification.tflm.sandbox import ArenaSearch
from tests.tflm.helpers import FAST_LIMITS


def _t(shape, dtype="int8", constant=False):
    return TensorInfo(index=0, name="", shape=tuple(shape), dtype=dtype, is_constant=constant)


def _op(opcode, inputs, outputs, index=0):
    return OperatorInfo(subgraph=0, index=index, opcode=opcode, inputs=inputs, outputs=outputs)


def test_mac_counts_per_operator_kind():
    graph = GraphInfo(
        subgraph_count=1,
        operators=(
            # 6x6 outputs x 16 channels, each 3x3x3 taps: 576 * 27
            _op("CONV_2D", (_t((1, 8, 8, 3)), _t((16, 3, 3, 3)), _t((16,))), (_t((1, 6, 6, 16)),)),
            # 576 outputs, each 3x3 taps of its own channel
            _op(
                "DEPTHWISE_CONV_2D",
                (_t((1, 8, 8, 16)), _t((1, 3, 3, 16)), None),
                (_t((1, 6, 6, 16)),),
                1,
            ),
            # 10 outputs x depth 576
            _op("FULLY_CONNECTED", (_t((1, 576)), _t((10, 576)), _t((10,))), (_t((1, 10)),), 2),
            _op("ADD", (_t((1, 10)), _t((1, 10))), (_t((1, 10)),), 3),
            _op("RESHAPE", (_t((1, 10)), _t((2,), "int32")), (_t((10,)),), 4),
        ),
    )
    estimate = performance.estimate_latency(graph, "cortex-m4", clock_mhz=100)
    assert [c.macs for c in estimate.ops] == [15552, 5184, 5760, 0, 0]
    assert [c.element_ops for c in estimate.ops] == [0, 0, 0, 10, 0]
    assert estimate.total_macs == 26496
    # cortex-m4 int8: 1.25 cycles/MAC, 3 cycles/element, 250 cycles per operator
    assert estimate.total_cycles == pytest.approx(26496 * 1.25 + 10 * 3 + 5 * 250)
    assert estimate.estimate_us == pytest.approx(estimate.total_cycles / 100)
    assert estimate.label == "estimate" and estimate.complete


def test_sensor_classifier_estimate_by_hand():
    parsed_graph = GraphInfo(
        subgraph_count=1,
        operators=(
            _op("FULLY_CONNECTED", (_t((1, 4)), _t((8, 4)), _t((8,), "int32")), (_t((1, 8)),)),
            _op("FULLY_CONNECTED", (_t((1, 8)), _t((3, 8)), _t((3,), "int32")), (_t((1, 3)),), 1),
        ),
    )
    m0 = performance.estimate_latency(parsed_graph, "cortex-m0plus", clock_mhz=48)
    # 4*8 + 8*3 = 56 MACs; M0+: 10 cycles/MAC + 400 per operator
    assert m0.total_macs == 56
    assert m0.total_cycles == 56 * 10 + 2 * 400
    assert m0.estimate_us == pytest.approx(1360 / 48)
    m55 = performance.estimate_latency(parsed_graph, "cortex-m55", clock_mhz=160)
    assert m55.estimate_us == pytest.approx((56 * 0.25 + 2 * 150) / 160)


def test_float_ops_use_the_float_column():
    graph = GraphInfo(
        subgraph_count=1,
        operators=(
            _op(
                "FULLY_CONNECTED",
                (_t((1, 4), "float32"), _t((3, 4), "float32"), None),
                (_t((1, 3), "float32"),),
            ),
        ),
    )
    estimate = performance.estimate_latency(graph, "cortex-m3", clock_mhz=72)
    assert estimate.total_cycles == 12 * 40 + 300


def test_control_flow_makes_the_estimate_a_lower_bound():
    graph = GraphInfo(
        subgraph_count=3,
        operators=(_op("WHILE", (_t((1, 4), "float32"),), (_t((1, 4), "float32"),)),),
    )
    estimate = performance.estimate_latency(graph, "cortex-m7", clock_mhz=216)
    assert not estimate.complete
    assert "lower bound" in estimate.notes[0]


def test_unknown_core_is_refused():
    with pytest.raises(performance.UnknownCore):
        performance.core_profile("cortex-a53")
    assert performance.core_profile("Cortex-M0+").name == "cortex-m0plus"


def test_budgets_compare_against_target_declared_and_gate():
    estimate = performance.estimate_latency(
        GraphInfo(1, (_op("FULLY_CONNECTED", (_t((1, 4)), _t((8, 4)), None), (_t((1, 8)),)),)),
        "cortex-m4",
        clock_mhz=1,
    )  # 32 * 1.25 + 250 = 290 cycles at 1 MHz: 290 us
    report = PerformanceReport(
        model_size_bytes=2048,
        arena=ArenaSearch(smallest_bytes=3072, max_bytes=1 << 20, step_bytes=16, probes=10),
        estimate=estimate,
        host_latency=None,
    )
    checks = {
        c.name: c
        for c in performance.check_budgets(
            report,
            flash_kb=1,
            ram_kb=4,
            declared_model_size_kb=2,
            declared_arena_kb=2,
            declared_inference_time_us=200,
            latency_gate_us=500,
        )
    }
    assert {name: c.passed for name, c in checks.items()} == {
        "model_size_vs_flash": False,
        "arena_vs_ram": True,
        "model_size_vs_declared": True,
        "arena_vs_declared": False,
        "latency_vs_declared": False,
        "latency_vs_gate": True,
    }
    assert checks["latency_vs_gate"].label == "estimate"
    unmeasured = PerformanceReport(0, None, None, None, error_code="model_timeout")
    assert not any(
        c.passed for c in performance.check_budgets(unmeasured, flash_kb=1, ram_kb=1)[1:]
    )


@pytest.mark.slow
def test_measured_performance_of_the_sensor_classifier():
    model = sample_models.sensor_classifier().tflite
    report = performance.measure_performance(model, "cortex-m4", 80, FAST_LIMITS, latency_runs=50)
    assert report.error_code is None
    assert report.model_size_bytes == len(model)
    assert report.arena_bytes and report.arena_bytes < 4096
    assert report.estimate.total_macs == 56
    assert report.estimate.estimate_us == pytest.approx((56 * 1.25 + 2 * 250) / 80)
    assert report.host_latency.label == "host-only"


@pytest.mark.slow
def test_a_hanging_model_still_gets_its_static_estimate():
    limits = FAST_LIMITS.__class__(wall_seconds=1.5)
    report = performance.measure_performance(
        sample_models.endless_loop().tflite, "cortex-m4", 80, limits
    )
    assert report.error_code == "model_timeout"
    assert report.estimate is not None and not report.estimate.complete
