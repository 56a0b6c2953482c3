"""Latency estimate from emulator-counted instructions: instructions x CPI / clock.

The CPI (cycles per instruction) per core is a planning figure, not a cycle-accurate model;
docs/firmware-harness.md explains where each number comes from. The anchor is Cortex-M4 at 1.4,
from the Cortex-M4 TRM instruction timings applied to an int8 multiply-accumulate loop (two
byte loads, one of them pipelined, a subtract, a single-cycle MLA, a compare and a taken branch
that refills the 3-stage pipeline: about 9 cycles for 6-7 instructions). The other cores are
scaled from it by Arm's published CoreMark/MHz, since the Thumb-2 instruction counts are the
same for these cores and CoreMark/MHz is the vendor's own measure of work per cycle.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from certification.vocabulary import PROMISED_LATENCY_US

DEFAULT_LIMIT_US = float(PROMISED_LATENCY_US)


@dataclass(frozen=True)
class CoreTiming:
    cpi: float
    source: str


CPI_TABLE: dict[str, CoreTiming] = {
    "cortex-m3": CoreTiming(
        1.5,
        "Cortex-M3 TRM (DDI 0337) ch. 18 timings: MLA 2 cycles, loads 2, taken branch 1+P; "
        "CoreMark 3.34/MHz",
    ),
    "cortex-m4": CoreTiming(
        1.4, "Cortex-M4 TRM (DDI 0439) s. 3.3 timings on an int8 MAC loop; CoreMark 3.42/MHz"
    ),
    "cortex-m7": CoreTiming(
        1.0, "Cortex-M4 anchor x 3.42/5.01 (Cortex-M7 CoreMark/MHz, dual issue, 6 stages)"
    ),
    "cortex-m33": CoreTiming(1.2, "Cortex-M4 anchor x 3.42/4.02 (Cortex-M33 CoreMark/MHz)"),
}


@dataclass(frozen=True)
class LatencyEstimate:
    """Per-call latency over the input set, labelled as an estimate."""

    core: str
    clock_mhz: float
    cpi: float
    instructions_min: int
    instructions_median: float
    instructions_max: int
    min_us: float
    median_us: float
    max_us: float
    calls: int
    label: str = "estimate: emulator-counted instructions x CPI / clock"


@dataclass(frozen=True)
class LatencyVerdict:
    passed: bool
    reasons: list[str]


def estimate_us(instructions: float, core: str, clock_mhz: float) -> float:
    """Microseconds for ``instructions`` on ``core`` at ``clock_mhz``."""
    if clock_mhz <= 0:
        raise ValueError("clock_mhz must be positive")
    return instructions * cpi_for(core) / clock_mhz


def cpi_for(core: str) -> float:
    timing = CPI_TABLE.get(core.strip().lower())
    if timing is None:
        raise KeyError(f"no CPI figure for {core}")
    return timing.cpi


def estimate_latency(
    instruction_counts: Sequence[int], core: str, clock_mhz: float
) -> LatencyEstimate:
    """min/median/max latency over the calls of one simulation run."""
    if not instruction_counts:
        raise ValueError("no instruction counts to estimate from")
    low, high = min(instruction_counts), max(instruction_counts)
    median = statistics.median(instruction_counts)
    return LatencyEstimate(
        core=core,
        clock_mhz=clock_mhz,
        cpi=cpi_for(core),
        instructions_min=low,
        instructions_median=median,
        instructions_max=high,
        min_us=estimate_us(low, core, clock_mhz),
        median_us=estimate_us(median, core, clock_mhz),
        max_us=estimate_us(high, core, clock_mhz),
        calls=len(instruction_counts),
    )


def judge_latency(
    estimate: LatencyEstimate,
    limit_us: float = DEFAULT_LIMIT_US,
    declared_us: float | None = None,
) -> LatencyVerdict:
    """Gate the worst call on the level's limit and on the manifest's declared latency."""
    reasons = []
    if estimate.max_us > limit_us:
        reasons.append(f"worst call {estimate.max_us:.1f} us exceeds the level limit {limit_us} us")
    if declared_us is not None and estimate.max_us > declared_us:
        reasons.append(f"worst call {estimate.max_us:.1f} us exceeds the declared {declared_us} us")
    return LatencyVerdict(passed=not reasons, reasons=reasons)
