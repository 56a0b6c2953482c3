"""Celery tasks of the certification pipeline: thin doors onto ``certification.pipeline``.

The canvas (validation, then the other stages in parallel, then the verdict, queued by the
last stage to finish) is built in ``pipeline.canvas``; every task is idempotent and acks late,
so a worker that dies mid-stage only causes the stage to run again, and its result is still
recorded once.
"""

from celery import shared_task

from certification.pipeline import actions, canvas, orchestration
from certification.pipeline.stages.base import InfrastructureError
from certification.vulndb import tasks as _vulndb_tasks  # noqa: F401 - registers its task
from edgeplug.core.reconnect import LOST

STAGE_SOFT_LIMIT_S = 600
STAGE_HARD_LIMIT_S = 660
STAGE_MAX_RETRIES = 5


def _canvas_step(name: str):
    """A bookkeeping step between stages: acks late and retries while the database cannot
    serve (``LOST``: the platform's failure, not the package's; or the run would stay queued)."""
    return shared_task(
        name=name,
        acks_late=True,
        autoretry_for=LOST,
        retry_backoff=5,
        max_retries=STAGE_MAX_RETRIES,
    )


@shared_task(name=canvas.START_RUN, acks_late=True)
def start_run(run_id: int) -> None:
    canvas.start_chain(run_id)


@shared_task(
    name=canvas.RUN_STAGE,
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=STAGE_MAX_RETRIES,
    soft_time_limit=STAGE_SOFT_LIMIT_S,
    time_limit=STAGE_HARD_LIMIT_S,
)
def run_stage(self, run_id: int, stage: str) -> str:
    try:
        result = orchestration.execute_stage(run_id, stage, worker=self.request.hostname or "")
    except (InfrastructureError, *LOST) as exc:
        if self.request.retries < self.max_retries:
            raise self.retry(exc=exc, countdown=min(300, 5 * 2**self.request.retries)) from exc
        result = orchestration.record_infrastructure_failure(
            run_id, stage, f"gave up after {self.request.retries} retries: {exc}"
        )
    canvas.after_stage(run_id, stage)
    return result


@_canvas_step(name=canvas.FAN_OUT)
def fan_out(run_id: int) -> None:
    canvas.fan_out(run_id, validation_passed=orchestration.validation_passed(run_id))


@_canvas_step(name=canvas.FINALIZE_RUN)
def finalize_run(run_id: int) -> str:
    return orchestration.finalize_run(run_id)


@shared_task(name="certification.tasks.sweep_stale_runs")
def sweep_stale_runs() -> int:
    return actions.sweep_stale_runs()


@shared_task(name="certification.tasks.expire_lapsed_certifications")
def expire_lapsed_certifications() -> int:
    return actions.expire_lapsed_certifications()
