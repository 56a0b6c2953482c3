"""Stage 3, performance (model part): memory against the target, and a latency estimate.

Model size against flash and the declared size; the smallest tensor arena TFLM accepts
against RAM and the declared arena; an analytic MCU latency estimate (MACs x cycles per MAC
for the core, labelled "estimate") against the declared time and, from level ``standard``
on, the level's gate. Host TFLM latency is reported and labelled host-only.
"""

from dataclasses import asdict

from certification.models import StageResult
from certification.pipeline.stages.base import StageContext, StageOutcome
from certification.pipeline.stages.sandboxing import retry_if_unavailable, sandbox_limits
from certification.tflm.performance import UnknownCore, check_budgets, measure_performance


def run(ctx: StageContext) -> StageOutcome:
    manifest = ctx.manifest
    target, limits = manifest["target"], manifest["limits"]
    try:
        report = measure_performance(
            ctx.file("model"), target["core"], target["clock_mhz"], sandbox_limits(ctx.thresholds)
        )
    except UnknownCore as exc:
        return StageOutcome.failed("unknown_core", str(exc))
    retry_if_unavailable(report.error_code, report.error_detail)
    metrics = {
        "model_size_bytes": report.model_size_bytes,
        "arena_bytes": report.arena_bytes,
        "latency_estimate_us": round(report.estimate.estimate_us, 2) if report.estimate else None,
        "latency_label": "estimate",
        "latency_gate_us": ctx.thresholds.latency_gate_us,
        "total_macs": report.estimate.total_macs if report.estimate else None,
        "estimate_complete": report.estimate.complete if report.estimate else False,
    }
    if report.host_latency is not None:
        metrics.update(
            host_latency_p50_us=round(report.host_latency.p50_us, 2),
            host_latency_p99_us=round(report.host_latency.p99_us, 2),
            host_latency_label="host-only",
        )
    if report.error_code:
        return StageOutcome.failed(
            report.error_code,
            report.error_detail,
            metrics=metrics,
            findings=[{"kind": report.error_code, "detail": report.error_detail}],
        )
    checks = check_budgets(
        report,
        flash_kb=target["flash_kb"],
        ram_kb=target["ram_kb"],
        declared_model_size_kb=limits.get("model_size_kb"),
        declared_arena_kb=limits.get("arena_kb"),
        declared_inference_time_us=limits.get("inference_time_us"),
        latency_gate_us=ctx.thresholds.latency_gate_us,
    )
    metrics["checks"] = [asdict(c) for c in checks]
    lines = [
        f"{'ok  ' if c.passed else 'FAIL'} {c.name}: {c.value} {c.unit} "
        f"(limit {c.limit}, {c.label})"
        for c in checks
    ]
    if report.estimate and report.estimate.notes:
        lines += [f"note: {n}" for n in report.estimate.notes]
    failed = [c for c in checks if not c.passed]
    if failed:
        return StageOutcome.failed(
            "budget_exceeded",
            "\n".join(lines),
            metrics=metrics,
            findings=[asdict(c) for c in failed],
        )
    return StageOutcome(StageResult.PASS, logs="\n".join(lines), metrics=metrics)
