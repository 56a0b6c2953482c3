"""Celery tasks of billing (the worker imports this module): thin doors onto billing's
actions. Each feature keeps its tasks beside it or here; importing them registers them."""

from celery import shared_task

from billing import usage_retention
from billing.documents import tasks as _documents_tasks  # noqa: F401 - registers its task


@shared_task(acks_late=True)
def maintain_usage_partitions() -> dict:
    """Create the raw usage table's partitions ahead and drop raw events past retention."""
    result = usage_retention.maintain_usage_partitions()
    return {
        "created": result.created,
        "dropped": result.dropped,
        "deleted": result.deleted,
        "cutoff": result.cutoff.isoformat() if result.cutoff else None,
    }
