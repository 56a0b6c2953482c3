"""Latency = emulator-counted instructions x CPI / clock, gated on the level and the manifest."""

from __future__ import annotations

import pytest

from certification.simulation import latency


def test_every_emulated_core_has_a_documented_cpi():
    from certification.simulation.boards import BOARDS

    for core in BOARDS:
        timing = latency.CPI_TABLE[core]
        assert timing.cpi > 0
        assert timing.source


def test_estimate_is_instructions_times_cpi_over_clock():
    assert latency.estimate_us(64_000, "cortex-m4", clock_mhz=64) == pytest.approx(1400.0)
    assert latency.estimate_us(1000, "Cortex-M7", clock_mhz=100) == pytest.approx(10.0)


def test_min_median_max_over_the_calls():
    estimate = latency.estimate_latency([100, 300, 200, 1000], "cortex-m4", clock_mhz=100)

    assert estimate.instructions_min == 100
    assert estimate.instructions_median == 250
    assert estimate.instructions_max == 1000
    assert estimate.min_us == pytest.approx(1.4)
    assert estimate.median_us == pytest.approx(3.5)
    assert estimate.max_us == pytest.approx(14.0)
    assert "estimate" in estimate.label


def test_worst_call_over_the_level_limit_fails():
    estimate = latency.estimate_latency([10_000, 50_000], "cortex-m3", clock_mhz=100)

    verdict = latency.judge_latency(estimate, limit_us=500)

    assert not verdict.passed
    assert "level limit" in verdict.reasons[0]


def test_worst_call_over_the_declared_latency_fails():
    estimate = latency.estimate_latency([1000], "cortex-m4", clock_mhz=100)

    verdict = latency.judge_latency(estimate, limit_us=500, declared_us=10)

    assert not verdict.passed
    assert "declared" in verdict.reasons[0]


def test_unknown_core_and_bad_clock_are_refused():
    with pytest.raises(KeyError):
        latency.estimate_us(1, "cortex-a53", 100)
    with pytest.raises(ValueError):
        latency.estimate_us(1, "cortex-m4", 0)
