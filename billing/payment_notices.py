"""Dunning emails: a plain-text notice to the invoice's recipients (``invoice_recipients``,
the same people as the invoice email) when a charge fails, when the invoice becomes
uncollectible, when there is no card to charge, or when the amount is below the smallest card
charge or above the largest.

Sent by a Celery task (billing.tasks.send_payment_notice) after the collection commits; the
invoice document email with its PDF is billing.documents' job, not this one. A failure is
told apart as every email's (``edgeplug.mail``): one that may pass is retried by the task, and
a refusal or the task's last try is kept on the invoice for finance
(``payment_notice_failure_code``/``_detail``), as the invoice email's failure is."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string

from billing.invoice_documents import invoice_recipients, seller_of
from billing.invoice_emails import DEFERRED
from billing.models import Invoice
from edgeplug.core.columns import clipped
from edgeplug.mail import DeliveryDeferred, DeliveryRefused, deliver
from edgeplug.public_urls import public_url
from marketplace.pricing import format_amount

logger = logging.getLogger(__name__)


class Notice(StrEnum):
    """What a payment notice email tells the billing contacts: each has its subject below
    and its body in ``templates/billing/payment_notice/<notice>.txt``."""

    PAYMENT_FAILED = "payment_failed"
    UNCOLLECTIBLE = "uncollectible"
    PAYMENT_METHOD_REQUIRED = "payment_method_required"
    AMOUNT_BELOW_MINIMUM = "amount_below_minimum"
    AMOUNT_ABOVE_MAXIMUM = "amount_above_maximum"


SUBJECTS = {
    Notice.PAYMENT_FAILED: "Payment failed for invoice {number}",
    Notice.UNCOLLECTIBLE: "Invoice {number} could not be collected: entitlements suspended",
    Notice.PAYMENT_METHOD_REQUIRED: "Invoice {number}: no card on file",
    Notice.AMOUNT_BELOW_MINIMUM: "Invoice {number}: too small to charge to a card",
    Notice.AMOUNT_ABOVE_MAXIMUM: "Invoice {number}: too large to charge to a card",
}


@dataclass(frozen=True)
class NoticeSent:
    recipients: list[str]
    subject: str


def send_payment_notice(
    invoice_id: int, notice: str, attempt: int, *, last_try: bool = True
) -> NoticeSent:
    """Email one notice about ``attempt``; nobody to write to is reported, not an error, and
    so is an invoice no longer unpaid when the task runs (paid offline or by a new card,
    voided, while the notice waited or retried): every notice asks for a payment.

    A failure is raised: ``DeliveryDeferred`` for the task to retry, kept on the invoice
    only on its ``last_try``; ``DeliveryRefused`` (for good) kept at once, as are the
    recipients refused while the notice went to the others (``NoticeSent`` names only
    those). A notice sent to all clears what an earlier one's failure left there."""
    if notice not in SUBJECTS:
        raise ValueError(f"unknown payment notice {notice!r}")
    invoice = Invoice.objects.get(pk=invoice_id)
    subject = SUBJECTS[notice].format(number=invoice.number)
    recipients = invoice_recipients(invoice) if invoice.is_unpaid else []
    if not recipients:
        return NoticeSent([], subject)
    # Answered to the seller's billing mailbox, as the invoice's own email is.
    reply_to = list(seller_of(invoice).emails[:1])
    body = render_to_string(
        f"billing/payment_notice/{notice}.txt",
        {
            "legal_name": invoice.account_snapshot.get("buyer", {}).get("legal_name", ""),
            "number": invoice.number,
            "amount": format_amount(invoice.amount_due, invoice.currency),
            "attempt": attempt,
            "reason": invoice.payment_failure_detail or invoice.payment_failure_code,
            "next_attempt_at": invoice.next_payment_attempt_at,
            "payment_methods_url": public_url("payment-methods"),
            "api_docs_url": public_url("swagger-ui"),
            "reply_to": reply_to,
        },
    )
    message = EmailMessage(
        subject, body, settings.DEFAULT_FROM_EMAIL, recipients, reply_to=reply_to
    )
    try:
        delivered = deliver(message, f'the notice "{subject}"')
    except DeliveryDeferred as error:
        if last_try:
            _record_failure(
                invoice,
                DEFERRED,
                f'The notice "{subject}" was not sent: the mail server could not take it at '
                f"the last try, and it is not tried again ({error}).",
            )
            _log_failure(notice, invoice, DEFERRED, len(recipients), len(recipients))
        raise
    except DeliveryRefused as error:
        _record_failure(invoice, error.code, error.detail)
        _log_failure(notice, invoice, error.code, len(recipients), len(recipients))
        raise
    # Sent: an earlier notice's failure is over. Recipients the server refused while it took
    # the notice for the others are kept as a refusal, not sent it again.
    refusal = delivered.refusal
    _record_failure(invoice, refusal.code if refusal else "", refusal.detail if refusal else "")
    if refusal:
        _log_failure(notice, invoice, refusal.code, len(delivered.refused), len(recipients))
    return NoticeSent(delivered.accepted, subject)


def _log_failure(notice: str, invoice: Invoice, code: str, missed: int, of: int) -> None:
    """Log the notice that ``missed`` of its ``of`` recipients did not get, with its code: not
    the addresses, which only the invoice's detail keeps (as the invoice email's log does)."""
    logger.warning(
        "payment notice %s of %s missed %d of its %d recipient(s): %s",
        notice,
        invoice.number,
        missed,
        of,
        code,
    )


def _record_failure(invoice: Invoice, code: str, detail: str) -> None:
    """Say on the invoice why its latest notice was not sent (empty: it was). A queryset
    update, made only when that changes: its ``updated_at`` (the time of its last payment
    change, which the reconcile job reads) stays as it is."""
    code = clipped(Invoice, "payment_notice_failure_code", code)
    detail = clipped(Invoice, "payment_notice_failure_detail", detail)
    Invoice.objects.filter(pk=invoice.pk).exclude(
        payment_notice_failure_code=code, payment_notice_failure_detail=detail
    ).update(payment_notice_failure_code=code, payment_notice_failure_detail=detail)
