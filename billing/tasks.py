"""Celery tasks of billing (the worker imports this module): thin doors onto billing's
actions, and periodic jobs (Celery beat). Importing a feature's task module registers it."""

from celery import shared_task

from billing import invoicing, usage_retention
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


@shared_task(acks_late=True)
def close_previous_month() -> dict:
    """Close the previous UTC month into drafts (idempotent; drafts refreshed while in grace)."""
    result = invoicing.close_previous_month()
    return {
        "period": f"{result.period_start:%Y-%m}",
        "created": len(result.created),
        "updated": len(result.updated),
        "unchanged": len(result.unchanged),
    }


@shared_task(acks_late=True)
def finalize_due_invoices() -> dict:
    run = invoicing.finalize_due_invoices()
    return {"finalized": run.finalized, "refused": {str(k): v for k, v in run.refused.items()}}
