"""The Celery canvas of a run: validation, then the level's other stages in parallel (a
group), then the verdict. Tasks are named, not imported, so the actions that schedule a run
never import the task module (the doors) and the web process never loads the stages.

    start_run → run_stage(validation) → fan_out → group(run_stage(s) …) ⇢ finalize_run

The verdict is queued by the stage that finds every stage recorded once its own result is
(``after_stage``), not by a chord callback: the database, not the result backend, says when
a run is complete. A chord's callback is published once, by whichever task completes the
count; a worker killed between counting and publishing left the run waiting for the sweeper
(2 h, then an error). A redelivered stage finds its result and asks again, so the verdict
is queued as long as any delivery of the last stage finishes; ``finalize_run`` is idempotent,
so two stages finishing together queue it twice, harmlessly.
"""

from celery import group, signature
from django.db import transaction

from certification.errors import NotQueued
from certification.models import CertificationResult, CertificationRun, RunStatus
from certification.pipeline import levels
from certification.pipeline.state import end_with_error, lock_run
from edgeplug.core.queueing import publish
from edgeplug.errors import BrokerUnavailable

START_RUN = "certification.tasks.start_run"
RUN_STAGE = "certification.tasks.run_stage"
FAN_OUT = "certification.tasks.fan_out"
FINALIZE_RUN = "certification.tasks.finalize_run"


def _task(name: str, *args):
    return signature(name, args=args, immutable=True)


def stage_task(run_id: int, stage: str):
    """The task running one stage; the hardware simulation goes to its own queue (its own
    workers, settings.CELERY_TASK_QUEUES), every other stage to the certification queue."""
    task = _task(RUN_STAGE, run_id, stage)
    return task.set(queue="simulation") if stage == levels.SIMULATION else task


def enqueue_run(run_id: int) -> None:
    """Send the run to the workers; with the broker down, the run ends as an error at once
    (never a queued run nobody will pick up, which would block a resubmission)."""
    try:
        publish(_task(START_RUN, run_id), what=f"certification run {run_id}")
    except BrokerUnavailable as refused:
        with transaction.atomic():
            run = lock_run(run_id)
            if run.status == RunStatus.QUEUED:
                broker_error = type(refused.__cause__).__name__
                detail = f"the task queue did not accept the run: {broker_error}"
                end_with_error(run, NotQueued.code, detail)


def start_chain(run_id: int) -> None:
    # If a task of the chain fails outright (a hard time limit, a bug), the run is still
    # judged at once, its missing stages making it an error, instead of waiting for the sweeper.
    (stage_task(run_id, levels.VALIDATION) | _task(FAN_OUT, run_id)).on_error(
        _task(FINALIZE_RUN, run_id)
    ).delay()


def fan_out(run_id: int, *, validation_passed: bool) -> None:
    """After validation: the other stages in parallel, then the verdict."""
    run = CertificationRun.objects.get(pk=run_id)
    rest = [s for s in run.stages if s != levels.VALIDATION]
    if not validation_passed or not rest:
        _task(FINALIZE_RUN, run_id).delay()
        return
    # A stage task that fails outright (a hard time limit, a bug) has the run judged at once.
    group(stage_task(run_id, stage).on_error(_task(FINALIZE_RUN, run_id)) for stage in rest).delay()


def after_stage(run_id: int, stage: str) -> None:
    """Once a parallel stage's result is recorded: queue the verdict if it was the last one
    the run waited for (validation goes on through the chain to ``fan_out``)."""
    if stage == levels.VALIDATION:
        return
    run = CertificationRun.objects.active().filter(pk=run_id).only("stages").first()
    if run is None:
        return  # judged already (or its stage failed outright and the errback judged it)
    recorded = CertificationResult.objects.filter(run_id=run_id, test_suite__in=run.stages)
    if recorded.count() == len(run.stages):
        _task(FINALIZE_RUN, run_id).delay()
