"""Stage 2, safety invariants: property-based tests (Hypothesis) against the model in TFLM.

The declared invariants run with a seed derived from the package digest, so a run is
reproducible; a failure reports the shrunk counterexample and the output it produced. The
searches share a time budget well inside the task's soft limit; running out of it, or into
the soft limit itself, fails the stage with ``invariants_time_exceeded``.
"""

from celery.exceptions import SoftTimeLimitExceeded

from certification.models import StageResult
from certification.pipeline.stages.base import StageContext, StageOutcome
from certification.pipeline.stages.sandboxing import (
    isolation_metrics,
    retry_if_unavailable,
    sandbox_limits,
)
from certification.tflm.invariants import InputDomain, check_invariants
from certification.tflm.sandbox import ModelSandbox, SandboxError


def run(ctx: StageContext) -> StageOutcome:
    specs = ctx.manifest.get("invariants") or []
    if not specs:
        return StageOutcome.failed(
            "no_invariants",
            "The manifest declares no invariants; at least one is required for certification.",
        )
    max_examples = ctx.thresholds.invariant_examples
    sandbox = ModelSandbox(ctx.file("model"), sandbox_limits(ctx.thresholds))
    try:
        sandbox.start()
        domain = InputDomain.from_manifest(ctx.manifest["model"])
        outcomes = check_invariants(sandbox, specs, domain, ctx.digest, max_examples=max_examples)
    except SoftTimeLimitExceeded:
        # The searches have their own budget (SEARCH_BUDGET_S); this is the task's last word.
        return StageOutcome.failed(
            "invariants_time_exceeded",
            "The invariant searches ran into the stage's time limit before a verdict.",
        )
    except SandboxError as exc:
        retry_if_unavailable(exc.code, exc.detail)
        return StageOutcome.failed(
            exc.code,
            f"{exc.detail}\n{exc.log_tail}".strip(),
            findings=[{"kind": exc.code, "detail": exc.detail}],
        )
    finally:
        sandbox.close()
    failed = [o for o in outcomes if not o.passed]
    metrics = {
        "invariants": len(outcomes),
        "failed": len(failed),
        # The model evaluations the searches made, shrinking included: fewer than allowed
        # when Hypothesis tried every input there is, found a violation or ran out of time.
        # Until 2026-12-07 it was the level's max_examples, carried so into the certificate.
        "examples": sum(o.examples for o in outcomes),
        "max_examples": max_examples,
        "seeded_from": ctx.digest[:16],
        **isolation_metrics(sandbox.isolation),
    }
    lines = [f"{'PASS' if o.passed else 'FAIL'} {o.kind}: {o.message}" for o in outcomes]
    if failed:
        codes = {o.error_code for o in failed if o.error_code}
        return StageOutcome.failed(
            next(iter(codes)) if len(codes) == 1 else "invariant_violated",
            "\n".join(lines),
            metrics=metrics,
            findings=[o.to_json() for o in failed],
        )
    return StageOutcome(StageResult.PASS, logs="\n".join(lines), metrics=metrics)
