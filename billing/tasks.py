"""Celery tasks of billing (the worker imports this module): thin doors onto billing's
actions, and periodic jobs (Celery beat). Importing a feature's task module registers it."""

from celery import shared_task

from billing import collection, invoicing, payment_notices, usage_retention
from billing.documents import tasks as _documents_tasks  # noqa: F401 - registers its task
from billing.errors import PaymentProcessorError


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


# --- payment and dunning (billing.collection) ----------


@shared_task(
    acks_late=True,
    autoretry_for=(PaymentProcessorError,),
    retry_backoff=60,
    retry_backoff_max=3600,
    max_retries=8,
)
def collect_invoice_payment(invoice_id: int) -> str:
    return collection.collect_invoice(invoice_id).outcome


@shared_task(acks_late=True)
def retry_due_invoice_payments() -> dict:
    run = collection.retry_due_invoice_payments()
    return {"attempted": run.attempted, "errors": run.errors}


@shared_task(
    acks_late=True,
    autoretry_for=(OSError,),
    retry_backoff=30,
    retry_backoff_max=1800,
    max_retries=10,
)
def send_payment_notice(invoice_id: int, notice: str, attempt: int) -> list[str]:
    return payment_notices.send_payment_notice(invoice_id, notice, attempt).recipients
