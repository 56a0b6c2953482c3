"""Running a certification: execute one stage, record its result once, judge the run and
sign its certificate. Only the Celery tasks call this (the workers load the stages, the web
process never does). Writes are idempotent (one result per stage, enforced by a unique
constraint) so redelivered tasks are harmless.
"""

import logging
import os
import socket
import time

from django.db import IntegrityError, transaction
from django.utils import timezone

from certification.certificates.issuing import issue_certificate
from certification.models import (
    CertificationResult,
    CertificationRun,
    RunStatus,
    StageAttempt,
    StageResult,
)
from certification.pipeline import levels
from certification.pipeline.findings import bound_findings
from certification.pipeline.stages import stage_function
from certification.pipeline.stages.base import InfrastructureError, StageContext, StageOutcome
from certification.pipeline.state import lock_run, mark_running, sync_version
from certification.vulndb.rescan import record_findings_at_certification
from edgeplug.audit.services import record_change
from edgeplug.core.locking import locked
from edgeplug.core.reconnect import LOST
from edgeplug.text import json_safe
from edgeplug.timefmt import utc_iso
from marketplace.storage import PackageUnreadable, load_stored_package

logger = logging.getLogger(__name__)


def _load_context(run: CertificationRun) -> StageContext:
    version = run.version
    try:
        stored = load_stored_package(version.storage_name)
    except PackageUnreadable as exc:
        raise InfrastructureError(str(exc)) from exc
    return StageContext(
        run_id=run.pk,
        level=run.level,
        thresholds=levels.thresholds_for(run.level),
        digest=version.digest,
        package_bytes=stored.data,
        package=stored.package,
        package_error=stored.error,
    )


def _progress(run: CertificationRun) -> int:
    done = CertificationResult.objects.filter(run=run).count()
    total = len(run.stages) + 1  # + signing
    return min(99, int(100 * done / total))


def execute_stage(run_id: int, stage: str, *, worker: str = "") -> str:
    """Run one stage once; a redelivered task finds its result and returns it unchanged."""
    existing = CertificationResult.objects.filter(run_id=run_id, test_suite=stage).first()
    if existing is not None:
        return existing.test_result
    run = mark_running(run_id)
    if run is None:
        return "finished"
    with transaction.atomic():  # a reader sees the stage running with current_stage naming it
        StageAttempt.objects.create(
            run=run, stage=stage, worker=worker or socket.gethostname(), worker_pid=os.getpid()
        )
        CertificationRun.objects.filter(pk=run_id).update(current_stage=stage)
    started = time.monotonic()
    ctx = _load_context(run)
    if ctx.package is None and stage != levels.VALIDATION:
        outcome = StageOutcome.skipped("the package did not pass validation")
    else:
        try:
            outcome = stage_function(stage)(ctx)
        except (InfrastructureError, *LOST):
            raise  # the platform's failure, not the package's: the task retries
        except Exception as exc:
            logger.exception("stage %s of run %s crashed", stage, run_id)
            outcome = StageOutcome(
                StageResult.ERROR, logs=f"{type(exc).__name__}: {exc}", error_code="stage_crashed"
            )
    duration_ms = int((time.monotonic() - started) * 1000)
    return _record_unless_judged(run_id, stage, outcome, duration_ms)


def _record_unless_judged(run_id: int, stage: str, outcome: StageOutcome, duration_ms: int) -> str:
    """A stage's result, recorded while its run waits for it; "finished" when the run was
    judged while the stage ran (its errback after another delivery died, the stale-run
    sweep): the verdict stands, and a result after it would contradict it (the stage shown
    passed in a run in error for its missing result, the progress below 100). The run's row
    is locked as ``finalize_run`` locks it, so a result is either in the verdict or not kept."""
    with transaction.atomic():
        run = locked(CertificationRun(pk=run_id))
        if run.is_finished:
            logger.info("run %s was judged while its stage %s ran: result not kept", run_id, stage)
            return "finished"
        return record_result(run, stage, outcome, duration_ms).test_result


def record_result(
    run: CertificationRun, stage: str, outcome: StageOutcome, duration_ms: int
) -> CertificationResult:
    findings = bound_findings(json_safe(outcome.findings))
    try:
        with transaction.atomic():
            result = CertificationResult.objects.create(
                run=run,
                test_suite=stage,
                test_result=outcome.result,
                test_duration_ms=duration_ms,
                test_logs=outcome.logs[-200_000:],
                metrics=json_safe(outcome.metrics),
                findings=findings.kept,
                findings_summary=findings.summary,
                error_code=outcome.error_code,
            )
            if outcome.vulnerabilities:
                record_findings_at_certification(run, outcome.vulnerabilities)
            # In the same transaction: a watcher (gRPC WatchRun) never sees the stage's result
            # with the run's progress from before it.
            CertificationRun.objects.filter(pk=run.pk).update(progress=_progress(run))
    except IntegrityError:
        # Another delivery of the same task recorded it first; keep that one.
        return CertificationResult.objects.get(run=run, test_suite=stage)
    return result


def record_infrastructure_failure(run_id: int, stage: str, detail: str) -> str:
    """A stage whose infrastructure kept failing after every retry ends as ``error``."""
    outcome = StageOutcome(StageResult.ERROR, logs=detail, error_code=InfrastructureError.code)
    return _record_unless_judged(run_id, stage, outcome, 0)


def validation_passed(run_id: int) -> bool:
    return CertificationResult.objects.filter(
        run_id=run_id, test_suite=levels.VALIDATION, test_result=StageResult.PASS
    ).exists()


def _verdict(run: CertificationRun, results: dict[str, CertificationResult]) -> tuple[str, str]:
    missing = [s for s in run.stages if s not in results]
    if (
        results.get(levels.VALIDATION)
        and results[levels.VALIDATION].test_result != StageResult.PASS
    ):
        missing = []  # later stages never ran: the validation verdict decides
    if missing:
        return RunStatus.ERROR, f"stages without a result: {', '.join(missing)}"
    outcomes = {r.test_result for r in results.values()}
    if StageResult.FAIL in outcomes:
        failed = [s for s, r in results.items() if r.test_result == StageResult.FAIL]
        return RunStatus.FAILED, f"failed: {', '.join(failed)}"
    if StageResult.ERROR in outcomes or StageResult.SKIPPED in outcomes:
        bad = [
            s
            for s, r in results.items()
            if r.test_result in (StageResult.ERROR, StageResult.SKIPPED)
        ]
        return RunStatus.ERROR, f"not completed: {', '.join(bad)}"
    return RunStatus.PASSED, ""


def finalize_run(run_id: int) -> str:
    """Judge the run from its stage results; sign a certificate when every stage passed."""
    with transaction.atomic():
        run = lock_run(run_id)
        if run.is_finished:
            return run.status
        results = {r.test_suite: r for r in run.results.all()}
        status, detail = _verdict(run, results)
        if status == RunStatus.PASSED:
            started = time.monotonic()
            try:
                with transaction.atomic():  # a savepoint: a failed insert leaves the run usable
                    certificate = issue_certificate(run, list(results.values()))
            except LOST:
                # The platform's database (locked, connection lost), not the signing: the run
                # is left as it was and the verdict task retries (certification.tasks).
                raise
            except Exception as exc:  # noqa: BLE001 - recorded as the signing stage's error
                record_result(
                    run,
                    levels.SIGNING,
                    StageOutcome(
                        StageResult.ERROR,
                        logs=str(exc),
                        error_code=getattr(exc, "code", "signing_failed"),
                    ),
                    int((time.monotonic() - started) * 1000),
                )
                status, detail = RunStatus.ERROR, f"signing failed: {exc}"
            else:
                record_result(
                    run,
                    levels.SIGNING,
                    StageOutcome(
                        StageResult.PASS,
                        logs=f"signed with {certificate.key_id}",
                        metrics={
                            "key_id": certificate.key_id,
                            "expires_at": utc_iso(certificate.expires_at),
                        },
                    ),
                    int((time.monotonic() - started) * 1000),
                )
        run.status = status
        run.error_detail = detail
        run.current_stage = ""
        run.progress = 100
        run.finished_at = timezone.now()
        run.save(
            update_fields=["status", "error_detail", "current_stage", "progress", "finished_at"]
        )
        sync_version(run)
        record_change(
            f"certification_{status}",
            run,
            target=str(run.version),
            details={"run": run.pk, "level": run.level, "detail": detail},
        )
    return status
