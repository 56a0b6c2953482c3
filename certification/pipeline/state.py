"""A run's state transitions, shared by the actions and the orchestration: the version's
certification status always follows its newest run."""

from django.db import transaction
from django.utils import timezone

from certification.models import CertificationRun, RunStatus
from edgeplug.audit.services import record_change
from edgeplug.core.locking import locked
from marketplace.models import AgentVersion, CertificationStatus, ReviewStatus

_VERSION_STATUS = {
    RunStatus.QUEUED: CertificationStatus.QUEUED,
    RunStatus.RUNNING: CertificationStatus.RUNNING,
    RunStatus.PASSED: CertificationStatus.CERTIFIED,
    RunStatus.FAILED: CertificationStatus.FAILED,
    RunStatus.ERROR: CertificationStatus.ERROR,
}


def sync_version(run: CertificationRun) -> None:
    updates = {"certification_status": _VERSION_STATUS[run.status]}
    if run.status == RunStatus.PASSED:
        updates["certified_at"] = run.finished_at
        # A new certification needs a new review before customers see it.
        updates["review_status"] = ReviewStatus.PENDING
    AgentVersion.objects.filter(pk=run.version_id).update(**updates)


def end_with_error(
    run: CertificationRun, code: str, detail: str, *, action: str = "certification_error"
) -> None:
    """Finish a run (locked by the caller) as an error that no stage result explains, audited
    as every end of a run is (``action``: the sweeper's ``certification_timed_out``; else
    ``certification_error``, as the verdict audits a run it judges an error)."""
    run.status = RunStatus.ERROR
    run.error_code = code
    run.error_detail = detail
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error_code", "error_detail", "finished_at"])
    sync_version(run)
    record_change(
        action,
        run,
        target=str(run.version),
        details={"run": run.pk, "level": run.level, "code": code, "detail": detail},
    )


def mark_running(run_id: int) -> CertificationRun | None:
    """Move a queued run to running; None when it has already finished."""
    with transaction.atomic():
        run = locked(CertificationRun(pk=run_id))
        if run.is_finished:
            return None
        if run.status == RunStatus.QUEUED:
            run.status = RunStatus.RUNNING
            run.started_at = timezone.now()
            run.save(update_fields=["status", "started_at"])
            sync_version(run)
        return run
