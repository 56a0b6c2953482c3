"""Periodic billing jobs (Celery beat): close the previous month, finalize due drafts."""

from celery import shared_task

from billing import invoicing


@shared_task(acks_late=True)
def close_previous_month() -> dict:
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
