"""Count Celery tasks by name and state: sent, started, succeeded, failed, retried."""

import logging

from celery import signals
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F

from edgeplug.health.models import TaskCounter

logger = logging.getLogger(__name__)


def count_task(task: str, state: str) -> None:
    try:
        with transaction.atomic():
            updated = TaskCounter.objects.filter(task=task, state=state).update(
                count=F("count") + 1
            )
            if not updated:
                TaskCounter.objects.create(task=task, state=state, count=1)
    except IntegrityError:
        TaskCounter.objects.filter(task=task, state=state).update(count=F("count") + 1)
    except DatabaseError:
        # Metrics must never break the task they count.
        logger.warning("could not count task %s %s", task, state, exc_info=True)


@signals.after_task_publish.connect(dispatch_uid="count_sent")
def _sent(sender=None, headers=None, **kwargs):
    count_task(str((headers or {}).get("task", sender)), "sent")


def _counting(state: str):
    def receiver(sender=None, **kwargs):
        count_task(sender.name, state)

    return receiver


# The task object is the sender of these four; each state is counted under its task's name.
for _signal, _state in (
    (signals.task_prerun, "started"),
    (signals.task_success, "succeeded"),
    (signals.task_failure, "failed"),
    (signals.task_retry, "retried"),
):
    _signal.connect(_counting(_state), weak=False, dispatch_uid=f"count_{_state}")
