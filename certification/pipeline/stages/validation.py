"""Stage 1, package validation: the registry's checks again (run once, when the stored
package was loaded), then the model in TFLM.

The model must load in TensorFlow Lite Micro (in the sandbox), use only supported ops, and
have exactly the input and output shapes and dtypes its manifest declares.
"""

from certification.models import StageResult
from certification.pipeline.stages.base import StageContext, StageOutcome
from certification.pipeline.stages.sandboxing import (
    isolation_metrics,
    retry_if_unavailable,
    sandbox_limits,
)
from certification.tflm.sandbox import inspect_model


def _tensor_mismatches(kind: str, declared: dict, actual) -> list[dict]:
    findings = []
    if list(declared["shape"]) != list(actual.shape):
        findings.append(
            {"kind": f"{kind}_shape", "declared": declared["shape"], "actual": list(actual.shape)}
        )
    if declared["dtype"] != actual.dtype:
        findings.append(
            {"kind": f"{kind}_dtype", "declared": declared["dtype"], "actual": actual.dtype}
        )
    return findings


def run(ctx: StageContext) -> StageOutcome:
    if ctx.package is None:
        exc = ctx.package_error
        return StageOutcome.failed(exc.code, exc.detail, findings=[exc.as_dict()])
    package = ctx.package
    manifest = package.manifest
    model = package.read(manifest["model"]["file"])
    # Loading at the level's arena limit is the check here; the smallest arena (a bisection
    # of some twenty loads) is the performance stage's figure, measured there.
    inspection = inspect_model(
        model, sandbox_limits(ctx.thresholds), latency_runs=0, find_arena=False
    )
    metrics = {
        "package_bytes": package.size,
        "model_size_bytes": len(model),
        **isolation_metrics(inspection.isolation),
    }
    if not inspection.ok:
        retry_if_unavailable(inspection.error_code, inspection.error_detail)
        return StageOutcome.failed(
            inspection.error_code or "model_invalid",
            f"{inspection.error_detail}\n{inspection.log_tail}".strip(),
            metrics=metrics,
            findings=[{"kind": inspection.error_code, "detail": inspection.error_detail}],
        )
    description = inspection.description
    metrics.update(
        op_set=list(description.op_set),
        input_shape=list(description.inputs[0].shape),
        output_shape=list(description.outputs[0].shape),
        input_dtype=description.inputs[0].dtype,
        output_dtype=description.outputs[0].dtype,
    )
    findings = _tensor_mismatches(
        "input", manifest["model"]["input"], description.inputs[0]
    ) + _tensor_mismatches("output", manifest["model"]["output"], description.outputs[0])
    if findings:
        return StageOutcome.failed(
            "model_mismatch",
            "The model does not match its manifest.",
            metrics=metrics,
            findings=findings,
        )
    return StageOutcome(
        StageResult.PASS,
        metrics=metrics,
        logs=f"RECORD and manifest valid; model loads in TFLM with ops "
        f"{', '.join(description.op_set)}; shapes and dtypes match the manifest.",
    )
