"""A run's state transitions, shared by the actions and the orchestration: the version's
certification status follows its newest run, but for a run that failed (or ended in error)
while a certificate still vouches for the version."""

from django.db import transaction
from django.utils import timezone

from certification.models import FAILED_STATUSES, CertificationRun, RunStatus
from edgeplug.audit.services import record_change
from edgeplug.core.locking import locked
from marketplace.certified import current_certificate
from marketplace.models import AgentVersion, CertificationStatus, ReviewStatus
from marketplace.services import lock_agent, refresh_agent_card

_VERSION_STATUS = {
    RunStatus.QUEUED: CertificationStatus.QUEUED,
    RunStatus.RUNNING: CertificationStatus.RUNNING,
    RunStatus.PASSED: CertificationStatus.CERTIFIED,
    RunStatus.FAILED: CertificationStatus.FAILED,
    RunStatus.ERROR: CertificationStatus.ERROR,
}


def sync_version(run: CertificationRun) -> None:
    # A new run that failed (certifying it again, at another level say) takes nothing away:
    # while a certificate still vouches, the version is certified again, as it was before the
    # run, under the decision it had (approved: public again, as the devices running it
    # already see it; pending: the earlier passed run awaits its review; rejected: stays so).
    # The failed run is the vendor's record.
    failed = run.status in FAILED_STATUSES
    still_certified = _vouched_version(run.version_id) if failed else None
    status = CertificationStatus.CERTIFIED if still_certified else _VERSION_STATUS[run.status]
    if still_certified:  # its card follows: the agent locked before the version is written
        lock_agent(still_certified.agent_id)
    updates = {"certification_status": status}
    if run.status == RunStatus.PASSED:
        updates["certified_at"] = run.finished_at
        # A new certification needs a new review before customers see it.
        updates["review_status"] = ReviewStatus.PENDING
    AgentVersion.objects.filter(pk=run.version_id).update(**updates)
    if still_certified:  # back in the catalogue if approved: it left it when the run was submitted
        refresh_agent_card(still_certified.agent)


def lock_run(run_id: int) -> CertificationRun:
    """The run's row, locked, after its agent's (``lock_agent``): the order every action takes
    them in (agent, version, run), so a run's end that puts its version back in the catalogue
    (``sync_version``) waits for nothing that waits for it (a review of the run holds the
    agent and waits for the run)."""
    runs = CertificationRun.objects.filter(pk=run_id)
    agent_id = runs.values_list("version__agent_id", flat=True).first()
    if agent_id is not None:
        lock_agent(agent_id)
    return locked(CertificationRun(pk=run_id))


def _vouched_version(version_id: int) -> AgentVersion | None:
    """The version, if a certificate still vouches for it (``current_certificate``)."""
    version = AgentVersion.objects.select_related("agent").get(pk=version_id)
    return version if current_certificate(version) else None


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
