"""The model side of the performance stage: memory footprint and an analytic MCU latency estimate.

Memory is measured: the ``.tflite`` size, and the smallest tensor arena TFLM accepts (bisected
in the sandbox). Latency on the target is *estimated* from the graph: multiply-accumulates
(MACs) and elementwise operations per operator, times a cycles-per-operation figure for the
target core, plus a per-operator interpreter overhead, divided by the clock. Host latency of
TFLM on this machine is reported beside it and labelled host-only: it says nothing about a
microcontroller.

Cycle figures (``CORE_PROFILES``) are engineering estimates, not measurements made here:

* which kernel family runs on which core follows the CMSIS-NN README
  (github.com/ARM-software/CMSIS-NN): pure C on Cortex-M0/M0+/M3, DSP-extension SIMD
  (SMLAD, two 16-bit MACs per instruction) on Cortex-M4/M33, and Helium/MVE vector code on
  Cortex-M55;
* instruction timings come from the Arm Technical Reference Manuals: Cortex-M0+ (single-cycle
  MULS with the fast multiplier, two-cycle loads), Cortex-M3 (MLA in 2 cycles, no SIMD, no
  FPU), Cortex-M4 (single-cycle SMLAD, FPv4-SP VFMA), Cortex-M7 (dual issue, FPv5),
  Cortex-M33 (Armv8-M mainline with the DSP extension and FPU configured), Cortex-M55
  (dual-beat MVE: a 128-bit vector instruction completes every two cycles, i.e. up to 8 int8
  MACs per cycle);
* the inner loops are assumed to be load-bound as in CMSIS-NN's kernels (Lai, Suda, Chandra,
  "CMSIS-NN: Efficient Neural Network Kernels for Arm Cortex-M CPUs", arXiv:1801.06601),
  so the per-MAC figures include operand loads and unpacking, and float32 on cores without an
  FPU pays libgcc soft-float calls.

The issue's latency gate uses this number labelled "estimate"; the hardware-simulation stage
replaces it with emulator-counted instructions when firmware is supplied.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from certification.tflm.graph import GraphInfo, OperatorInfo
from certification.tflm.sandbox import (
    ArenaSearch,
    HostLatency,
    SandboxLimits,
    inspect_model,
)
from certification.vocabulary import PROMISED_LATENCY_US
from edgeplug.errors import DomainError


class UnknownCore(DomainError, ValueError, code="unknown_core"):
    """A target core with no cycle-cost profile."""


@dataclass(frozen=True)
class CoreProfile:
    """Cycle costs on one core. ``int`` covers int8/int16 kernels, ``float`` float32."""

    name: str
    int_cycles_per_mac: float
    float_cycles_per_mac: float
    int_cycles_per_element: float
    float_cycles_per_element: float
    op_overhead_cycles: int
    basis: str


_CORTEX_M4 = CoreProfile(
    "cortex-m4", 1.25, 3.0, 3.0, 4.0, 250,
    "Armv7E-M DSP: CMSIS-NN SMLAD kernels (2 MACs per instruction, load-bound); "
    "FPv4-SP single-precision FPU",
)  # fmt: skip

CORE_PROFILES: dict[str, CoreProfile] = {
    profile.name: profile
    for profile in (
        CoreProfile(
            "cortex-m0plus", 10.0, 80.0, 12.0, 60.0, 400,
            "Armv6-M, no DSP or FPU: pure C kernels, 2-cycle loads, 1-cycle MULS; "
            "float32 in soft-float",
        ),
        CoreProfile(
            "cortex-m3", 6.0, 40.0, 8.0, 30.0, 300,
            "Armv7-M, no DSP or FPU: pure C kernels, 2-cycle MLA; float32 in soft-float",
        ),
        _CORTEX_M4,
        CoreProfile(
            "cortex-m7", 0.6, 1.5, 1.5, 2.0, 150,
            "Armv7E-M DSP with dual issue and 64-bit loads; FPv5 FPU",
        ),
        replace(
            _CORTEX_M4,
            name="cortex-m33",
            basis="Armv8-M mainline with the DSP extension and FPU configured (as Cortex-M4)",
        ),
        CoreProfile(
            "cortex-m55", 0.25, 0.75, 0.5, 1.0, 150,
            "Armv8.1-M Helium/MVE, dual-beat: up to 8 int8 or 2 float32 MACs per cycle "
            "peak, derated for loads",
        ),
    )
}  # fmt: skip

# Aliases a manifest may use for the same core.
_CORE_ALIASES = {"cortex-m0+": "cortex-m0plus", "cortex-m0": "cortex-m0plus"}

_MAC_OPS = {"FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE_CONV", "BATCH_MATMUL"}
# Ops that only reinterpret a buffer: no per-element work.
_FREE_OPS = {"RESHAPE", "SQUEEZE", "EXPAND_DIMS", "VAR_HANDLE", "ASSIGN_VARIABLE", "SHAPE"}
# Ops whose work scales with their input rather than their output.
_INPUT_BOUND_OPS = {
    "SUM",
    "MEAN",
    "REDUCE_MAX",
    "REDUCE_MIN",
    "REDUCE_ALL",
    "AVERAGE_POOL_2D",
    "MAX_POOL_2D",
    "L2_POOL_2D",
    "ARG_MAX",
    "ARG_MIN",
}
# Control flow: the trip count is data-dependent, so the estimate is only a lower bound.
_CONTROL_FLOW_OPS = {"WHILE", "IF", "CALL_ONCE"}
_FLOAT_TYPES = {"float32", "float16", "float64", "bfloat16"}


@dataclass(frozen=True)
class OpCost:
    subgraph: int
    index: int
    opcode: str
    dtype: str
    macs: int
    element_ops: int
    cycles: float


@dataclass(frozen=True)
class LatencyEstimate:
    """Analytic MCU latency; an estimate from the table above, never a measurement."""

    core: str
    clock_mhz: float
    total_macs: int
    total_element_ops: int
    total_cycles: float
    estimate_us: float
    complete: bool
    notes: tuple[str, ...]
    ops: tuple[OpCost, ...]
    label: str = "estimate"


@dataclass(frozen=True)
class PerformanceReport:
    """Memory and latency figures for the performance stage, or the sandbox error code."""

    model_size_bytes: int
    arena: ArenaSearch | None
    estimate: LatencyEstimate | None
    host_latency: HostLatency | None
    error_code: str | None = None
    error_detail: str = ""

    @property
    def arena_bytes(self) -> int | None:
        return None if self.arena is None else self.arena.smallest_bytes


@dataclass(frozen=True)
class BudgetCheck:
    """One gate: a measured or estimated figure against a limit."""

    name: str
    value: float | None
    limit: float
    unit: str
    passed: bool
    label: str


def core_profile(core: str) -> CoreProfile:
    name = _CORE_ALIASES.get(core.lower(), core.lower())
    if name not in CORE_PROFILES:
        raise UnknownCore(f"no cycle table for core {core!r}")
    return CORE_PROFILES[name]


def _elements(shape: Sequence[int]) -> int:
    count = 1
    for dim in shape:
        count *= dim
    return count


def _macs(op: OperatorInfo) -> int:
    """Multiply-accumulates of one MAC-type operator, from its tensors' shapes.

    FULLY_CONNECTED: outputs x accumulation depth (filter [out, depth]).
    CONV_2D: outputs x kh x kw x in_channels (filter [out_c, kh, kw, in_c]).
    DEPTHWISE_CONV_2D: outputs x kh x kw (filter [1, kh, kw, out_c]).
    TRANSPOSE_CONV: inputs x kh x kw x out_channels (filter [out_c, kh, kw, in_c]; input 2).
    BATCH_MATMUL: outputs x the shared dimension (taken as lhs's last, i.e. no adj_x).
    """
    out = _elements(op.outputs[0].shape)
    if op.opcode == "FULLY_CONNECTED":
        return out * op.inputs[1].shape[-1]
    if op.opcode == "CONV_2D":
        _, kh, kw, in_c = op.inputs[1].shape
        return out * kh * kw * in_c
    if op.opcode == "DEPTHWISE_CONV_2D":
        _, kh, kw, _ = op.inputs[1].shape
        return out * kh * kw
    if op.opcode == "TRANSPOSE_CONV":
        out_c, kh, kw, _ = op.inputs[1].shape
        return _elements(op.inputs[2].shape) * kh * kw * out_c
    return out * op.inputs[0].shape[-1]  # BATCH_MATMUL


def _element_ops(op: OperatorInfo) -> int:
    if op.opcode in _FREE_OPS or op.opcode in _CONTROL_FLOW_OPS or not op.outputs:
        return 0
    if op.opcode in _INPUT_BOUND_OPS and op.inputs and op.inputs[0] is not None:
        return _elements(op.inputs[0].shape)
    return sum(_elements(t.shape) for t in op.outputs)


def _dtype(op: OperatorInfo) -> str:
    if op.outputs:
        return op.outputs[0].dtype
    first = next((t for t in op.inputs if t is not None), None)
    return first.dtype if first is not None else "float32"


def estimate_latency(graph: GraphInfo, core: str, clock_mhz: float) -> LatencyEstimate:
    """Cycles = sum over ops of MACs x cycles/MAC + elements x cycles/element + overhead."""
    if clock_mhz <= 0:
        raise ValueError("clock_mhz must be positive")
    profile = core_profile(core)
    costs = []
    notes = []
    for op in graph.operators:
        dtype = _dtype(op)
        is_float = dtype in _FLOAT_TYPES
        if op.opcode in _MAC_OPS:
            macs, elements = _macs(op), 0
        else:
            macs, elements = 0, _element_ops(op)
        per_mac = profile.float_cycles_per_mac if is_float else profile.int_cycles_per_mac
        per_element = (
            profile.float_cycles_per_element if is_float else profile.int_cycles_per_element
        )
        cycles = macs * per_mac + elements * per_element + profile.op_overhead_cycles
        costs.append(OpCost(op.subgraph, op.index, op.opcode, dtype, macs, elements, cycles))
        if op.opcode in _CONTROL_FLOW_OPS:
            notes.append(
                f"{op.opcode} (subgraph {op.subgraph}, op {op.index}) has a data-dependent "
                "trip count: its subgraphs are counted once, so this is a lower bound"
            )
    total_cycles = sum(c.cycles for c in costs)
    return LatencyEstimate(
        core=profile.name,
        clock_mhz=clock_mhz,
        total_macs=sum(c.macs for c in costs),
        total_element_ops=sum(c.element_ops for c in costs),
        total_cycles=total_cycles,
        estimate_us=total_cycles / clock_mhz,
        complete=not notes,
        notes=tuple(notes),
        ops=tuple(costs),
    )


def measure_performance(
    model: bytes,
    core: str,
    clock_mhz: float,
    limits: SandboxLimits | None = None,
    latency_runs: int = 200,
) -> PerformanceReport:
    """Inspect the model in the sandbox and estimate its latency on ``core`` at ``clock_mhz``.

    Raises :class:`UnknownCore` for a core without a cycle table; model failures come back
    as ``error_code``.
    """
    core_profile(core)
    inspection = inspect_model(model, limits, latency_runs=latency_runs)
    estimate = None
    if inspection.description is not None:
        estimate = estimate_latency(inspection.description.graph, core, clock_mhz)
    return PerformanceReport(
        model_size_bytes=len(model),
        arena=inspection.arena,
        estimate=estimate,
        host_latency=inspection.latency,
        error_code=inspection.error_code,
        error_detail=inspection.error_detail,
    )


def check_budgets(
    report: PerformanceReport,
    *,
    flash_kb: float,
    ram_kb: float,
    declared_model_size_kb: float | None = None,
    declared_arena_kb: float | None = None,
    declared_inference_time_us: float | None = None,
    latency_gate_us: float | None = PROMISED_LATENCY_US,
) -> list[BudgetCheck]:
    """Compare the report with the target profile, the manifest's declarations and the gate.

    KB are 1024 bytes. A figure that could not be measured (``None``) fails its gate.
    """

    def check(name: str, value: float | None, limit: float, unit: str, label: str) -> BudgetCheck:
        return BudgetCheck(name, value, limit, unit, value is not None and value <= limit, label)

    size_kb = report.model_size_bytes / 1024
    arena_kb = None if report.arena_bytes is None else report.arena_bytes / 1024
    estimate_us = None if report.estimate is None else report.estimate.estimate_us
    checks = [
        check("model_size_vs_flash", size_kb, flash_kb, "KB", "measured"),
        check("arena_vs_ram", arena_kb, ram_kb, "KB", "measured"),
    ]
    if declared_model_size_kb is not None:
        checks.append(
            check("model_size_vs_declared", size_kb, declared_model_size_kb, "KB", "measured")
        )
    if declared_arena_kb is not None:
        checks.append(check("arena_vs_declared", arena_kb, declared_arena_kb, "KB", "measured"))
    if declared_inference_time_us is not None:
        checks.append(
            check("latency_vs_declared", estimate_us, declared_inference_time_us, "us", "estimate")
        )
    if latency_gate_us is not None:
        checks.append(check("latency_vs_gate", estimate_us, latency_gate_us, "us", "estimate"))
    return checks
