"""Celery door of the invoice documents: email one rendered invoice, retrying with backoff.

The task takes plain JSON (the document's ``as_dict`` form and the recipients), so whoever
finalizes an invoice queues it with ``transaction.on_commit``. The PDF is rendered here, in
the worker, not in the request.
"""

from celery import shared_task

from billing.documents import mail

EMAIL_INVOICE = "billing.documents.tasks.email_invoice_document"
EMAIL_MAX_RETRIES = 8  # backoff 30 s, 1 min, 2 min ... capped at 1 h: about 5 hours in all


@shared_task(
    name=EMAIL_INVOICE,
    acks_late=True,
    autoretry_for=(mail.DeliveryDeferred,),
    retry_backoff=30,
    retry_backoff_max=3600,
    retry_jitter=True,
    max_retries=EMAIL_MAX_RETRIES,
)
def email_invoice_document(document: dict, recipients: list[str]) -> str:
    return mail.email_invoice_document(document, recipients)
