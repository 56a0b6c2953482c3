"""Count Celery tasks by name and state: sent, started, succeeded, failed, retried.

Each count is one committed write. Code that sends many tasks at once (the batch finalize of
the month close) wraps them in ``counted_together()``: the counts are kept in memory and
written once per task and state when the block ends, the same totals with fewer commits."""

import logging
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from celery import signals
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F

from edgeplug.health.models import TaskCounter

logger = logging.getLogger(__name__)

_together = threading.local()


def _add(task: str, state: str, amount: int) -> None:
    try:
        with transaction.atomic():
            updated = TaskCounter.objects.filter(task=task, state=state).update(
                count=F("count") + amount
            )
            if not updated:
                TaskCounter.objects.create(task=task, state=state, count=amount)
    except IntegrityError:
        TaskCounter.objects.filter(task=task, state=state).update(count=F("count") + amount)
    except DatabaseError:
        # Metrics must never break the task they count.
        logger.warning("could not count task %s %s (%d)", task, state, amount, exc_info=True)


def count_task(task: str, state: str) -> None:
    pending = getattr(_together, "counts", None)
    if pending is not None:
        pending[(task, state)] += 1
    else:
        _add(task, state, 1)


@contextmanager
def counted_together() -> Iterator[None]:
    """Count the tasks of this block (in this thread) with one write per task and state at
    its end, also when it ends with an error: what was sent stays counted. Nested blocks
    leave the writing to the outermost one."""
    if getattr(_together, "counts", None) is not None:
        yield
        return
    _together.counts = Counter()
    try:
        yield
    finally:
        counts, _together.counts = _together.counts, None
        for (task, state), amount in sorted(counts.items()):
            _add(task, state, amount)


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
