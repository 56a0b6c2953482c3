"""Celery tasks of billing (the worker imports this module): thin doors onto billing's
actions, and periodic jobs (Celery beat). Importing a feature's task module registers it."""

from dataclasses import asdict

from celery import shared_task

from billing import (
    collection,
    invoice_emails,
    invoicing,
    money_back,
    payment_notices,
    pdf_archives,
    periods,
    taken_back,
    usage_retention,
)
from billing.errors import PaymentProcessorError
from edgeplug.core.reconnect import LOST
from edgeplug.core.retries import RETRY_WAIT_MAX_S
from edgeplug.mail import DeliveryDeferred
from edgeplug.timefmt import utc_iso


@shared_task(acks_late=True)
def maintain_usage_partitions() -> dict:
    """Create the raw usage table's partitions ahead and drop raw events past retention."""
    result = usage_retention.maintain_usage_partitions()
    return {
        "created": result.created,
        "dropped": result.dropped,
        "deleted": result.deleted,
        "cutoff": utc_iso(result.cutoff) if result.cutoff else None,
    }


def _closed(result: invoicing.CloseResult) -> dict:
    return {
        "period": periods.month_label(result.period_start),
        "created": len(result.created),
        "updated": len(result.updated),
        "unchanged": len(result.unchanged),
        "withdrawn": len(result.withdrawn),
        "credit_notes": result.credit_notes,
        "retries": result.retries,
    }


# The close redoes a batch whose connection is lost a few times itself; a database that stays
# away longer fails the run, which is retried whole (idempotent) after a backoff.
_CLOSE_RETRIES = {
    "acks_late": True,
    "autoretry_for": LOST,
    "retry_backoff": 30,
    "retry_backoff_max": RETRY_WAIT_MAX_S,
    "max_retries": 6,
}


@shared_task(**_CLOSE_RETRIES)
def close_previous_month() -> dict:
    """Close the previous UTC month into drafts (idempotent; drafts refreshed while in grace),
    after any earlier month no close has drafted yet (``invoicing.close_ended_months``): the
    previous month's counts, and ``caught_up``, those of each earlier month it closed that had
    anything to bill, oldest first."""
    *caught_up, latest = invoicing.close_ended_months()
    return {**_closed(latest), "caught_up": [_closed(r) for r in caught_up if r.drafted]}


@shared_task(**_CLOSE_RETRIES)
def close_billing_month(month: str, force: bool = False) -> dict:
    """Close the UTC month ``YYYY-MM`` again on demand (operations, after late data), as the
    hourly job closes the previous one: ``celery -A edgeplug call billing.tasks.close_billing_month
    --args '["2026-01"]'``. The same action as ``close_month`` and the admin's Close period now
    (audited; a month not ended needs ``force``, one not started is refused): such a month or
    another value than ``YYYY-MM`` fails the task with ``PeriodNotEnded``/``InvalidPeriod``
    (not retried)."""
    start = periods.parse_month(month)
    return _closed(invoicing.close_period_now(start, force=force, via="celery"))


@shared_task(acks_late=True)
def finalize_due_invoices() -> dict:
    run = invoicing.finalize_due_invoices()
    return {"finalized": run.finalized, "refused": {str(k): v for k, v in run.refused.items()}}


# The emails (the invoice's, the payment notices) try again a failure that may pass
# (edgeplug.mail: a 4xx answer, the mail server unreachable), not a refusal (5xx): waits of 30 s
# doubling up to 10 minutes (RETRY_WAIT_MAX_S), jittered.
_EMAIL_RETRIES = {
    "acks_late": True,
    "autoretry_for": (DeliveryDeferred,),
    "retry_backoff": 30,
    "retry_backoff_max": RETRY_WAIT_MAX_S,
    "retry_jitter": True,
}


# About two hours in all.
@shared_task(**_EMAIL_RETRIES, max_retries=16)
def email_invoice(invoice_id: int, resend: bool = False) -> dict:
    """Email a finalized invoice or credit note with its PDF to its recipients, as they are
    when the task runs: once (``resend`` for finance's resend), never a void one; the result
    says to whom, or why nothing was sent (``invoice_emails.email_invoice``)."""
    return invoice_emails.email_invoice(invoice_id, resend=resend).as_result()


@shared_task(acks_late=True)
def email_missed_invoices() -> dict:
    """Queue the email of each finalized invoice whose email task was lost."""
    run = invoice_emails.email_missed_invoices()
    return {"queued": run.queued, "no_recipients": run.no_recipients, "not_queued": run.not_queued}


# --- payment and dunning (billing.collection) ----------

# The processor was unreachable or did not answer: try again later (the idempotency key makes
# a retried attempt the same charge). An error it answered fails the attempt instead
# (billing.collection._charge): its key would only get the same answer again. Waits of 1 minute
# doubling up to 10 minutes (RETRY_WAIT_MAX_S), jittered: about three hours in all.
_PAYMENT_RETRIES = {
    "acks_late": True,
    "autoretry_for": (PaymentProcessorError,),
    "retry_backoff": 60,
    "retry_backoff_max": RETRY_WAIT_MAX_S,
    "max_retries": 21,
}


@shared_task(**_PAYMENT_RETRIES)
def collect_invoice_payment(invoice_id: int) -> str:
    return collection.collect_invoice(invoice_id).outcome


@shared_task(**_PAYMENT_RETRIES)
def collect_with_new_card(invoice_id: int, attempts_seen: int) -> str:
    return collection.collect_with_new_card(invoice_id, attempts_seen).outcome


@shared_task(**_PAYMENT_RETRIES)
def book_refunds_in_stripe(payment_intent_id: str) -> str:
    """Refunds made in Stripe's dashboard of the intent that just paid an invoice, told before
    its success was seen, booked as its ``charge.refunded`` would have."""
    return taken_back.book_refunds_in_stripe(payment_intent_id) or "no invoice"


@shared_task(**_PAYMENT_RETRIES)
def refund_credit_note(note_id: int) -> str:
    """What a credit note of a card-paid invoice gives back, refunded on that card."""
    return money_back.refund_credit_note(note_id)


@shared_task(acks_late=True)
def retry_credit_note_refunds() -> dict:
    return asdict(money_back.retry_credit_note_refunds())


@shared_task(acks_late=True)
def recheck_card_refunds() -> dict:
    return asdict(money_back.recheck_card_refunds())


@shared_task(acks_late=True)
def retry_due_invoice_payments() -> dict:
    return asdict(collection.retry_due_invoice_payments())


@shared_task(acks_late=True)
def collect_missed_first_charges() -> dict:
    """Charge each finalized invoice whose first charge was lost (its task never ran or gave
    up during a processor outage)."""
    return asdict(collection.collect_missed_first_charges())


@shared_task(acks_late=True)
def collect_missed_new_card_charges() -> dict:
    """Make each attempt on a new default card whose task was lost (never ran, or gave up
    during a processor outage)."""
    return asdict(collection.collect_missed_new_card_charges())


@shared_task(acks_late=True)
def reconcile_awaited_payments() -> dict:
    return asdict(collection.reconcile_awaited_payments())


# About two and a half hours in all; its last try and a refusal are kept on the invoice.
@shared_task(bind=True, **_EMAIL_RETRIES, max_retries=19)
def send_payment_notice(self, invoice_id: int, notice: str, attempt: int) -> dict:
    last_try = self.request.retries >= self.max_retries
    sent = payment_notices.send_payment_notice(invoice_id, notice, attempt, last_try=last_try)
    # The result the worker logs and the result backend keeps: a count, not the addresses.
    return {"notice": notice, "recipients": len(sent.recipients)}


@shared_task(acks_late=True)
def build_pdf_archive(archive_id: int) -> dict:
    """Build the PDF archive finance asked for on the Exports page (``pdf_archives``)."""
    archive = pdf_archives.build_pdf_archive(archive_id)
    return {"archive": archive.pk, "state": archive.state, "documents": archive.done}


@shared_task(acks_late=True)
def fail_stalled_pdf_archives() -> dict:
    """Fail the PDF archives whose worker stopped (beat, every 5 minutes)."""
    return {"failed": pdf_archives.fail_stalled_pdf_archives()}


@shared_task(acks_late=True)
def delete_expired_pdf_archives() -> dict:
    """Delete the PDF archives' files kept past their retention (beat, hourly)."""
    return {"deleted": pdf_archives.delete_expired_pdf_archives()}
