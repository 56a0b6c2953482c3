"""Stage 5, hardware simulation: the vendor's firmware on an emulated Cortex-M board.

The firmware runs every input vector (fixed boundary vectors plus Hypothesis-generated ones,
seeded from the package digest); its outputs must equal the TFLM reference bit for bit for
integer models, or within the manifest's tolerance for float ones. Latency comes from the
instructions the emulator counted inside the ``.infer`` section, never from the firmware.
"""

import math
import struct
import tempfile
from pathlib import Path

from django.conf import settings
from hypothesis import HealthCheck, given, seed
from hypothesis import settings as hsettings

from certification.models import StageResult
from certification.pipeline.stages.base import StageContext, StageOutcome
from certification.pipeline.stages.sandboxing import retry_if_unavailable, sandbox_limits
from certification.simulation.backend import SimulationBackend
from certification.simulation.equivalence import Tolerance, compare_outputs
from certification.simulation.harness_abi import Dtype
from certification.simulation.latency import estimate_latency, judge_latency
from certification.simulation.qemu import QemuBackend
from certification.simulation.renode import RenodeBackend
from certification.tflm.invariants import InputDomain, input_vector_strategy, seed_for
from certification.tflm.sandbox import ModelSandbox, SandboxError
from certification.vocabulary import PROMISED_LATENCY_US

GENERATED_VECTORS = 24


def backend() -> SimulationBackend:
    if settings.SIMULATION_BACKEND == "renode":
        return RenodeBackend(renode_binary=settings.RENODE_BINARY)
    return QemuBackend(plugin_path=Path(settings.QEMU_PLUGIN_PATH))


def input_vectors(domain: InputDomain, digest: str, count: int = GENERATED_VECTORS) -> list:
    """Boundary vectors, then ``count`` Hypothesis-generated ones (reproducible per digest)."""
    mid = [(lo + hi) / 2 for lo, hi in zip(domain.low, domain.high, strict=True)]
    fixed = [
        list(domain.low),
        list(domain.high),
        [math.floor(v) if domain.integer else v for v in mid],
    ]
    strategy = input_vector_strategy(domain.low, domain.high, domain.integer)
    generated: list = []

    @seed(seed_for(digest, "simulation", 0))
    @hsettings(
        max_examples=count, database=None, deadline=None, suppress_health_check=list(HealthCheck)
    )
    @given(strategy)
    def collect(vector):  # drawn as arrays: a wide input (a 32x32 image) generates
        if list(vector) not in generated and list(vector) not in fixed:
            generated.append(list(vector))

    collect()
    return fixed + generated[:count]


def _encode(values, dtype: Dtype) -> bytes:
    return struct.pack(f"<{len(values)}{dtype.struct_char}", *values)


def run(ctx: StageContext) -> StageOutcome:
    manifest = ctx.manifest
    firmware = ctx.file("firmware")
    if firmware is None:
        return StageOutcome.failed(
            "firmware_missing", "The hardware level needs firmware in the package."
        )
    model = manifest["model"]
    in_dtype, out_dtype = Dtype(model["input"]["dtype"]), Dtype(model["output"]["dtype"])
    domain = InputDomain.from_manifest(model)
    vectors = input_vectors(domain, ctx.digest)
    try:
        with ModelSandbox(ctx.file("model"), sandbox_limits(ctx.thresholds)) as sandbox:
            reference = sandbox.run(vectors, raw=True)
    except SandboxError as exc:
        retry_if_unavailable(exc.code, exc.detail)
        return StageOutcome.failed(exc.code, exc.detail)
    inputs = [_encode(v, in_dtype) for v in vectors]
    references = [_encode(r.raw, out_dtype) for r in reference]
    simulator = backend()
    with tempfile.TemporaryDirectory(prefix="edgeplug-fw-") as tmp:
        elf = Path(tmp) / "firmware.elf"
        elf.write_bytes(firmware)
        result = simulator.run(
            elf,
            manifest["target"]["core"],
            inputs,
            output_size=len(references[0]),  # bytes, as the harness ABI reads it
            input_dtype=in_dtype,
            output_dtype=out_dtype,
        )
    metrics = {
        "backend": result.backend,
        "board": result.board,
        "vectors": len(inputs),
        "exit_reason": str(result.exit_reason),
        "sandbox": result.sandbox,
        "total_instructions": result.total_instructions,
        "uart_truncated": result.uart_truncated,
        "duration_s": round(result.duration_s, 3),
    }
    logs = f"{result.detail}\n--- UART (tail) ---\n{result.uart_log[-4000:]}"
    if not result.ok:
        verdict = StageResult.ERROR if result.is_infrastructure_error else StageResult.FAIL
        return StageOutcome(
            verdict,
            logs=logs,
            metrics=metrics,
            error_code=str(result.error_code),
            findings=[{"kind": str(result.error_code), "detail": result.detail}],
        )
    tolerance = Tolerance(atol=float(model.get("tolerance", 0))) if out_dtype.is_float else None
    report = compare_outputs(
        inputs,
        result.outputs,
        references,
        input_dtype=in_dtype,
        output_dtype=out_dtype,
        tolerance=tolerance,
    )
    estimate = estimate_latency(
        result.instruction_counts, manifest["target"]["core"], manifest["target"]["clock_mhz"]
    )
    gate = ctx.thresholds.latency_gate_us or PROMISED_LATENCY_US
    verdict = judge_latency(estimate, gate, manifest["limits"].get("inference_time_us"))
    metrics.update(
        instructions_min=estimate.instructions_min,
        instructions_median=estimate.instructions_median,
        instructions_max=estimate.instructions_max,
        instruction_counts=result.instruction_counts,
        cpi=estimate.cpi,
        latency_min_us=round(estimate.min_us, 3),
        latency_median_us=round(estimate.median_us, 3),
        latency_max_us=round(estimate.max_us, 3),
        latency_label=estimate.label,
        latency_gate_us=gate,
        equivalent=report.equal,
        mismatches=report.mismatches,
    )
    findings = []
    if not report.equal:
        first = report.first_mismatch
        findings.append(
            {
                "kind": "equivalence",
                "input_index": first.index,
                "input": first.input,
                "firmware_output": first.firmware_output,
                "reference_output": first.reference_output,
                "detail": report.describe(),
            }
        )
    findings += [{"kind": "latency", "detail": reason} for reason in verdict.reasons]
    logs = (
        f"{report.describe()}\nlatency ({estimate.label}): min {estimate.min_us:.2f} us, "
        f"median {estimate.median_us:.2f} us, max {estimate.max_us:.2f} us\n{logs}"
    )
    if findings:
        code = "firmware_mismatch" if not report.equal else "latency_exceeded"
        return StageOutcome.failed(code, logs, metrics=metrics, findings=findings)
    return StageOutcome(StageResult.PASS, logs=logs, metrics=metrics)
