"""Certification operations: submit, run a stage, finish a run, sign, review, sweep.

Celery tasks, the API, the admin and the registry all call these. Writes are idempotent
(one result per stage, enforced by a unique constraint) so redelivered tasks are harmless.
"""

import logging
import math
import os
import socket
import time
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from certification import levels
from certification.certificates import issue_certificate
from certification.errors import (
    InvalidLevel,
    NotReviewable,
    OwnTenantReview,
    ReasonRequired,
    RunInProgress,
    VersionYanked,
)
from certification.models import (
    CertificationResult,
    CertificationRun,
    Level,
    ReviewStatus,
    RunStatus,
    StageAttempt,
    StageResult,
)
from certification.stages.base import InfrastructureError, Stage, StageContext, StageOutcome
from edgeplug.audit.services import record_event
from marketplace.catalogue_cache import invalidate_catalogue
from marketplace.models import AgentVersion, CertificationStatus
from marketplace.packageformat import PackageError, inspect_package
from marketplace.services import package_limits, refresh_agent_card
from marketplace.storage import open_package

logger = logging.getLogger(__name__)

_ACTIVE = (RunStatus.QUEUED, RunStatus.RUNNING)
_VERSION_STATUS = {
    RunStatus.QUEUED: CertificationStatus.QUEUED,
    RunStatus.RUNNING: CertificationStatus.RUNNING,
    RunStatus.PASSED: CertificationStatus.CERTIFIED,
    RunStatus.FAILED: CertificationStatus.FAILED,
    RunStatus.ERROR: CertificationStatus.ERROR,
}


def _sync_version(run: CertificationRun) -> None:
    updates = {"certification_status": _VERSION_STATUS[run.status]}
    if run.status == RunStatus.PASSED:
        updates["certified_at"] = run.finished_at
        # A new certification needs a new review before customers see it.
        updates["review_status"] = "pending"
    AgentVersion.objects.filter(pk=run.version_id).update(**updates)


@transaction.atomic
def submit_for_certification(
    version: AgentVersion, level: str, *, actor=None, request=None
) -> CertificationRun:
    if level not in Level.values:
        raise InvalidLevel(f"Unknown level {level!r}; choose one of {', '.join(Level.values)}.")
    version = AgentVersion.objects.select_for_update().get(pk=version.pk)
    if version.yanked_at is not None:
        raise VersionYanked(f"{version} is yanked and cannot be certified.")
    active = CertificationRun.objects.filter(version=version, status__in=_ACTIVE).first()
    if active is not None:
        raise RunInProgress(f"Run {active.pk} for {version} is still {active.status}.")
    run = CertificationRun.objects.create(
        version=version,
        tenant=version.tenant,
        level=level,
        requested_by=actor,
        pipeline_version=levels.PIPELINE_VERSION,
        stages=levels.LEVEL_STAGES[level],
    )
    _sync_version(run)
    if version.is_public:
        # Certified again, it leaves the catalogue until the new run is reviewed.
        invalidate_catalogue()
    record_event(
        "certification_submitted",
        request=request,
        actor=actor,
        tenant=version.tenant,
        target=str(version),
        details={"run": run.pk, "level": level},
    )
    transaction.on_commit(lambda: _enqueue(run.pk))
    return run


def _enqueue(run_id: int) -> None:
    """Send the run to the workers; with the broker down, the run ends as an error at once
    (never a queued run nobody will pick up, which would block a resubmission)."""
    from certification.tasks import start_run

    try:
        start_run.delay(run_id)
    except Exception as exc:  # kombu raises several kinds when it cannot publish
        logger.exception("could not enqueue certification run %s", run_id)
        with transaction.atomic():
            run = CertificationRun.objects.select_for_update().get(pk=run_id)
            if run.status == RunStatus.QUEUED:
                detail = f"the task queue did not accept the run: {type(exc).__name__}"
                _end_with_error(run, "broker_unavailable", detail)


def _end_with_error(run: CertificationRun, code: str, detail: str) -> None:
    """Finish a run (locked by the caller) as an error that no stage result explains."""
    run.status = RunStatus.ERROR
    run.error_code = code
    run.error_detail = detail
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error_code", "error_detail", "finished_at"])
    _sync_version(run)


def mark_running(run_id: int) -> CertificationRun | None:
    """Move a queued run to running; None when it has already finished."""
    with transaction.atomic():
        run = CertificationRun.objects.select_for_update().get(pk=run_id)
        if run.is_finished:
            return None
        if run.status == RunStatus.QUEUED:
            run.status = RunStatus.RUNNING
            run.started_at = timezone.now()
            run.save(update_fields=["status", "started_at"])
            _sync_version(run)
        return run


def _load_context(run: CertificationRun) -> StageContext:
    version = run.version
    try:
        with open_package(version.storage_name) as fh:
            data = fh.read()
    except Exception as exc:
        raise InfrastructureError(f"package {version.digest} unreadable: {exc}") from exc
    ctx = StageContext(
        run_id=run.pk,
        level=run.level,
        thresholds=levels.thresholds_for(run.level),
        digest=version.digest,
        package_bytes=data,
    )
    try:
        ctx.package = inspect_package(data, package_limits())
    except PackageError:
        ctx.package = None  # the validation stage reports why; other stages skip
    return ctx


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
            outcome = _stage_function(stage)(ctx)
        except InfrastructureError:
            raise
        except Exception as exc:
            logger.exception("stage %s of run %s crashed", stage, run_id)
            outcome = StageOutcome(
                "error", logs=f"{type(exc).__name__}: {exc}", error_code="stage_crashed"
            )
    duration_ms = int((time.monotonic() - started) * 1000)
    return record_result(run, stage, outcome, duration_ms).test_result


def _stage_function(stage: str) -> Stage:
    # The stages bring numpy, TFLM, Hypothesis, CycloneDX and pyelftools: only the Celery
    # worker runs them, so the web process (which imports this module) never loads them.
    from certification.stages import STAGES

    return STAGES[stage]


def json_safe(value):
    """JSON columns refuse NaN and infinities; a counterexample may well contain them."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def record_result(
    run: CertificationRun, stage: str, outcome: StageOutcome, duration_ms: int
) -> CertificationResult:
    try:
        with transaction.atomic():
            result = CertificationResult.objects.create(
                run=run,
                test_suite=stage,
                test_result=outcome.result,
                test_duration_ms=duration_ms,
                test_logs=outcome.logs[-200_000:],
                metrics=json_safe(outcome.metrics),
                findings=json_safe(outcome.findings),
                error_code=outcome.error_code,
            )
    except IntegrityError:
        # Another delivery of the same task recorded it first; keep that one.
        return CertificationResult.objects.get(run=run, test_suite=stage)
    CertificationRun.objects.filter(pk=run.pk).update(progress=_progress(run))
    return result


def record_infrastructure_failure(run_id: int, stage: str, detail: str) -> str:
    """A stage whose infrastructure kept failing after every retry ends as ``error``."""
    run = CertificationRun.objects.get(pk=run_id)
    outcome = StageOutcome("error", logs=detail, error_code="infrastructure_error")
    return record_result(run, stage, outcome, 0).test_result


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
        run = CertificationRun.objects.select_for_update().get(pk=run_id)
        if run.is_finished:
            return run.status
        results = {r.test_suite: r for r in run.results.all()}
        status, detail = _verdict(run, results)
        if status == RunStatus.PASSED:
            started = time.monotonic()
            try:
                with transaction.atomic():  # a savepoint: a failed insert leaves the run usable
                    certificate = issue_certificate(run, list(results.values()))
            except Exception as exc:  # noqa: BLE001 - recorded as the signing stage's error
                record_result(
                    run,
                    levels.SIGNING,
                    StageOutcome(
                        "error", logs=str(exc), error_code=getattr(exc, "code", "signing_failed")
                    ),
                    int((time.monotonic() - started) * 1000),
                )
                status, detail = RunStatus.ERROR, f"signing failed: {exc}"
            else:
                record_result(
                    run,
                    levels.SIGNING,
                    StageOutcome(
                        "pass",
                        logs=f"signed with {certificate.key_id}",
                        metrics={
                            "key_id": certificate.key_id,
                            "expires_at": certificate.expires_at.isoformat(),
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
        _sync_version(run)
        record_event(
            f"certification_{status}",
            tenant=run.tenant,
            target=str(run.version),
            details={"run": run.pk, "level": run.level, "detail": detail},
        )
    return status


def sweep_stale_runs(now=None) -> int:
    """Mark runs queued or running past the configured limit as errors."""
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.CERTIFICATION_RUN_TIMEOUT_S)
    swept = 0
    for run_id in CertificationRun.objects.filter(
        status__in=_ACTIVE, created_at__lt=cutoff
    ).values_list("pk", flat=True):
        with transaction.atomic():
            run = CertificationRun.objects.select_for_update().get(pk=run_id)
            if run.is_finished:
                continue
            _end_with_error(
                run,
                "run_timeout",
                f"still {run.current_stage or 'queued'} after "
                f"{settings.CERTIFICATION_RUN_TIMEOUT_S} s",
            )
            record_event(
                "certification_timed_out",
                tenant=run.tenant,
                target=str(run.version),
                details={"run": run.pk},
            )
            swept += 1
    return swept


@transaction.atomic
def review_run(
    run: CertificationRun, *, approve: bool, reason: str, reviewer, request=None
) -> CertificationRun:
    """A reviewer's decision on a passed run; approval publishes the version to customers."""
    if not reason or not reason.strip():
        raise ReasonRequired("A decision needs a reason.")
    run = CertificationRun.objects.select_for_update().select_related("version").get(pk=run.pk)
    if run.status != RunStatus.PASSED or run.review_status != ReviewStatus.PENDING:
        raise NotReviewable(
            f"Run {run.pk} is {run.status} and {run.review_status}; only passed "
            "runs awaiting review can be decided."
        )
    if reviewer.memberships.filter(tenant=run.tenant).exists():
        raise OwnTenantReview("You cannot review a package of a tenant you belong to.")
    newest = CertificationRun.objects.filter(version_id=run.version_id).order_by("-pk").first()
    if newest.pk != run.pk:
        # The version's status and certificate are the newest run's; deciding an older one
        # would publish (or hide) what the reviewer did not look at.
        raise NotReviewable(
            f"Run {run.pk} was superseded by run {newest.pk} of the same version; review that."
        )
    run.review_status = ReviewStatus.APPROVED if approve else ReviewStatus.REJECTED
    run.reviewed_by = reviewer
    run.reviewed_at = timezone.now()
    run.review_reason = reason.strip()
    run.save(update_fields=["review_status", "reviewed_by", "reviewed_at", "review_reason"])
    AgentVersion.objects.filter(pk=run.version_id).update(review_status=run.review_status)
    refresh_agent_card(run.version.agent)
    invalidate_catalogue()
    record_event(
        f"certification_{run.review_status}",
        request=request,
        actor=reviewer,
        tenant=run.tenant,
        target=str(run.version),
        details={"run": run.pk, "reason": run.review_reason},
    )
    return run
