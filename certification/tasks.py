"""Celery tasks of the certification pipeline: thin wrappers around certification.services.

start_run → validation stage → fan_out: a chord of the level's other stages (in parallel)
→ finalize_run. Every task is idempotent and acks late, so a worker that dies mid-stage
only causes the stage to run again, and its result is still recorded once.
"""

from celery import chord, shared_task

from certification import (
    levels,
    services,
    tasks_security,  # noqa: F401 - registers the re-scan task
)
from certification.models import CertificationRun
from certification.stages.base import InfrastructureError

STAGE_SOFT_LIMIT_S = 600
STAGE_HARD_LIMIT_S = 660


@shared_task(name="certification.tasks.start_run", acks_late=True)
def start_run(run_id: int) -> None:
    (run_stage.si(run_id, levels.VALIDATION) | fan_out.si(run_id)).delay()


@shared_task(
    name="certification.tasks.run_stage",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(InfrastructureError,),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=5,
    soft_time_limit=STAGE_SOFT_LIMIT_S,
    time_limit=STAGE_HARD_LIMIT_S,
)
def run_stage(self, run_id: int, stage: str) -> str:
    return services.execute_stage(run_id, stage, worker=self.request.hostname or "")


@shared_task(name="certification.tasks.fan_out", acks_late=True)
def fan_out(run_id: int) -> None:
    run = CertificationRun.objects.get(pk=run_id)
    rest = [s for s in run.stages if s != levels.VALIDATION]
    if not services.validation_passed(run_id) or not rest:
        finalize_run.delay(run_id)
        return
    chord(run_stage.si(run_id, stage) for stage in rest)(finalize_run.si(run_id))


@shared_task(name="certification.tasks.finalize_run", acks_late=True)
def finalize_run(run_id: int) -> str:
    return services.finalize_run(run_id)


@shared_task(name="certification.tasks.sweep_stale_runs")
def sweep_stale_runs() -> int:
    return services.sweep_stale_runs()
