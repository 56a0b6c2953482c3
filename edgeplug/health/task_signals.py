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


@signals.task_prerun.connect(dispatch_uid="count_started")
def _started(sender=None, **kwargs):
    count_task(sender.name, "started")


@signals.task_success.connect(dispatch_uid="count_succeeded")
def _succeeded(sender=None, **kwargs):
    count_task(sender.name, "succeeded")


@signals.task_failure.connect(dispatch_uid="count_failed")
def _failed(sender=None, **kwargs):
    count_task(sender.name, "failed")


@signals.task_retry.connect(dispatch_uid="count_retried")
def _retried(sender=None, **kwargs):
    count_task(sender.name, "retried")
