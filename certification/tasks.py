"""Celery tasks of the certification pipeline: thin wrappers around certification.services.

start_run → validation stage → fan_out: a chord of the level's other stages (in parallel)
→ finalize_run. Every task is idempotent and acks late, so a worker that dies mid-stage
only causes the stage to run again, and its result is still recorded once.
"""

from celery import chord, shared_task
from django.db import OperationalError

from certification import (
    levels,
    services,
    tasks_security,  # noqa: F401 - registers the re-scan task
)
from certification.models import CertificationRun
from certification.stages.base import InfrastructureError

STAGE_SOFT_LIMIT_S = 600
STAGE_HARD_LIMIT_S = 660
STAGE_MAX_RETRIES = 5
# A database that is briefly unavailable or locked (SQLite under concurrent writers) is the
# platform's failure, not the package's: retry, or the run would stay queued.
DATABASE_RACES = (OperationalError,)


@shared_task(name="certification.tasks.start_run", acks_late=True)
def start_run(run_id: int) -> None:
    # If a task of the chain fails outright (a hard time limit, a bug), the run is still
    # judged at once, its missing stages making it an error, instead of waiting for the sweeper.
    (run_stage.si(run_id, levels.VALIDATION) | fan_out.si(run_id)).on_error(
        finalize_run.si(run_id)
    ).delay()


@shared_task(
    name="certification.tasks.run_stage",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=STAGE_MAX_RETRIES,
    soft_time_limit=STAGE_SOFT_LIMIT_S,
    time_limit=STAGE_HARD_LIMIT_S,
)
def run_stage(self, run_id: int, stage: str) -> str:
    try:
        return services.execute_stage(run_id, stage, worker=self.request.hostname or "")
    except (InfrastructureError, *DATABASE_RACES) as exc:
        if self.request.retries >= self.max_retries:
            return services.record_infrastructure_failure(
                run_id, stage, f"gave up after {self.request.retries} retries: {exc}"
            )
        raise self.retry(exc=exc, countdown=min(300, 5 * 2**self.request.retries)) from exc


@shared_task(
    name="certification.tasks.fan_out",
    acks_late=True,
    autoretry_for=DATABASE_RACES,
    retry_backoff=5,
    max_retries=STAGE_MAX_RETRIES,
)
def fan_out(run_id: int) -> None:
    run = CertificationRun.objects.get(pk=run_id)
    rest = [s for s in run.stages if s != levels.VALIDATION]
    if not services.validation_passed(run_id) or not rest:
        finalize_run.delay(run_id)
        return
    body = finalize_run.si(run_id).on_error(finalize_run.si(run_id))
    chord(run_stage.si(run_id, stage) for stage in rest)(body)


@shared_task(
    name="certification.tasks.finalize_run",
    acks_late=True,
    autoretry_for=DATABASE_RACES,
    retry_backoff=5,
    max_retries=STAGE_MAX_RETRIES,
)
def finalize_run(run_id: int) -> str:
    return services.finalize_run(run_id)


@shared_task(name="certification.tasks.sweep_stale_runs")
def sweep_stale_runs() -> int:
    return services.sweep_stale_runs()
