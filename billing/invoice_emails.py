"""The email of a finalized invoice or credit note, with its PDF: queued when it is issued,
sent once (``Invoice.emailed_at``), again only when finance resends it, never for a void
invoice; one whose task was lost (the broker down at finalize) is sent by a beat job after a
grace period. Described in docs/billing.md.

The task sends with the invoice row locked and marks it sent in the same transaction, so two
deliveries of the task (or the finalize's and the beat job's) send one email; a worker that
dies after the mail server took the message and before the commit sends it once more
(at least once, never lost).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from celery import signature
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from billing.documents.document import InvoiceDocument
from billing.invoice_documents import (
    MAY_PASS,
    NOT_RENDERED,
    document_refusal,
    invoice_document,
    invoice_pdf,
    invoice_recipients,
)
from billing.models import Invoice, InvoiceStatus
from billing.queueing import send_after_commit, send_now
from edgeplug.core.columns import clipped
from edgeplug.errors import DomainError

EMAIL_TASK = "billing.tasks.email_invoice"

logger = logging.getLogger(__name__)


class NotSent:
    """Why the email task sent nothing (``Emailed.not_sent``): these, or the code of
    ``document_refusal`` (``invoice_not_finalized``; ``invoice_void``, as finance's resend
    refuses it: it asks for nothing owed)."""

    NO_SUCH_INVOICE = "no_such_invoice"  # its finalize rolled back after scheduling
    ALREADY_EMAILED = "already_emailed"  # the task delivered twice, or queued twice
    NO_RECIPIENTS = "invoice_no_recipients"


NO_RECIPIENTS_DETAIL = "Its tenant's billing account has no invoice emails, nor had it at finalize."

# Why an email failed, kept on the invoice (``email_failure_code``) besides the codes of the
# errors that refuse it for good (``email_refused``, a document that cannot be rendered) and
# ``NOT_RENDERED`` (one that failed to render with no refusal).
DEFERRED = "email_deferred"


@dataclass
class Emailed:
    """What the email task did: to whom it sent ``number`` (and whom the mail server refused
    while it took it for them), or why it sent nothing."""

    number: str
    recipients: list[str] = field(default_factory=list)
    not_sent: str = ""
    refused: list[str] = field(default_factory=list)

    def as_result(self) -> dict:
        """The task's result, as Celery keeps it (the result backend) and the worker logs it:
        how many it was sent to (and refused for), not their addresses."""
        if self.not_sent:
            return {"invoice": self.number, "not_sent": self.not_sent}
        refused = {"refused": len(self.refused)} if self.refused else {}
        return {"invoice": self.number, "recipients": len(self.recipients), **refused}


def schedule_email(invoice: Invoice) -> bool:
    """Email the finalized document from a worker once the caller's transaction commits;
    False when there is nobody to email (``invoice_recipients``).

    A publish that fails (the broker down) is logged and does not stop the hooks after it
    (the other invoices of a batch finalize), and ``email_missed_invoices`` sends it after
    the grace period."""
    if not invoice_recipients(invoice):
        return False
    send_after_commit(EMAIL_TASK, invoice.pk)
    return True


def queue_resend(invoice: Invoice) -> None:
    """Queue finance's resend of the finalized document now. It has no beat job to catch it
    up: a publish the broker refuses raises ``BrokerUnavailable`` for finance to see."""
    send_now(EMAIL_TASK, invoice.pk, resend=True, what="the email")


def email_invoice(invoice_id: int, *, resend: bool = False) -> Emailed:
    """Email a finalized invoice or credit note with its PDF to its recipients as they are
    now (``invoice_recipients``): the email task's one call.

    Sent once: an invoice emailed already is not sent again unless ``resend`` (finance's
    resend). A void invoice is never sent. A failure is kept on the invoice
    (``email_failure_code``/``_detail``) and raised: ``DeliveryDeferred`` for the task to
    retry, the others for good. Recipients the mail server refused while it took the email
    for the others are kept there too (``email_refused``; ``email_partly_deferred`` when each
    got a 4xx), with the email marked sent."""
    invoice = Invoice.objects.select_related("credit_of").filter(pk=invoice_id).first()
    if invoice is None:
        return Emailed("", not_sent=NotSent.NO_SUCH_INVOICE)
    if reason := _reason_not_to_send(invoice, resend):
        return Emailed(invoice.number or "", not_sent=reason)
    recipients = invoice_recipients(invoice)
    if not recipients:
        _record_failure(invoice, NotSent.NO_RECIPIENTS, NO_RECIPIENTS_DETAIL)
        return Emailed(invoice.number, not_sent=NotSent.NO_RECIPIENTS)
    from billing.documents import mail  # WeasyPrint: the web process never loads it to queue

    try:
        document, pdf = _rendered(invoice)
        with transaction.atomic():
            if not _claim(invoice, resend):
                invoice.refresh_from_db()
                reason = _reason_not_to_send(invoice, resend) or NotSent.ALREADY_EMAILED
                return Emailed(invoice.number, not_sent=reason)
            delivered = mail.send_invoice_email(document, pdf, recipients)
            if delivered.refusal:
                _record_refused_recipients(invoice, delivered.refusal)
    except mail.DeliveryDeferred as error:
        _record_failure(invoice, DEFERRED, str(error))
        raise
    except DomainError as error:  # the server refused it, or its document cannot be sent
        _record_failure(invoice, error.code, error.detail)
        raise
    return Emailed(invoice.number, delivered.accepted, refused=list(delivered.refused))


def _rendered(invoice: Invoice) -> tuple[InvoiceDocument, bytes]:
    """The invoice's document and PDF. An error rendering them that is no refusal is ours and
    meets every try again: it is kept on the invoice (``NOT_RENDERED``) before it is raised,
    or the beat job would find the email neither sent nor failed and queue it at every run.
    One that may pass (``MAY_PASS``: the database lost, a file not read) is not kept, so the
    beat job queues the email again."""
    try:
        return invoice_document(invoice), invoice_pdf(invoice)
    except (DomainError, *MAY_PASS):
        raise  # a refusal is kept by the caller, with its own code; the others may pass
    except Exception as error:
        _record_failure(invoice, NOT_RENDERED, f"{type(error).__name__}: {error}")
        raise


def _reason_not_to_send(invoice: Invoice, resend: bool) -> str:
    if refusal := document_refusal(invoice):  # a draft's, or a void invoice's (its code)
        return refusal.code
    if invoice.emailed_at is not None and not resend:
        return NotSent.ALREADY_EMAILED
    return ""


def _claim(invoice: Invoice, resend: bool) -> bool:
    """Mark the invoice emailed (its first email's time stays) and keep its row locked until
    the caller's transaction ends; False when it is void or, unless ``resend``, emailed
    already. A concurrent claim waits for this one's commit and then finds it emailed; one
    that finds it rolled back (the send failed) claims it in turn."""
    rows = Invoice.objects.filter(pk=invoice.pk).exclude(status=InvoiceStatus.VOID)
    if not resend:
        rows = rows.filter(emailed_at__isnull=True)
    # A queryset update: the invoice's ``updated_at`` (the time of its last payment change,
    # which the reconcile job reads) stays as it is.
    claimed = rows.update(
        emailed_at=Coalesce(F("emailed_at"), Value(timezone.now())),
        email_failure_code="",
        email_failure_detail="",
    )
    return claimed == 1


def _record_failure(invoice: Invoice, code: str, detail: str) -> None:
    """Say on an invoice not emailed yet why its email was not sent (a failed resend of one
    emailed already is the task's failure only). The log names the code, not the detail: a
    refusal's names each address refused (the task's failure, logged too, names none)."""
    logger.warning("invoice %s not emailed: %s", invoice.number, code)
    Invoice.objects.filter(pk=invoice.pk, emailed_at__isnull=True).update(
        email_failure_code=clipped(Invoice, "email_failure_code", code),
        email_failure_detail=clipped(Invoice, "email_failure_detail", detail),
    )


def _record_refused_recipients(invoice: Invoice, refusal: DomainError) -> None:
    """Say on the invoice just emailed (claimed by this transaction, its earlier failure
    cleared) which recipients the mail server refused: the email went to the others, so it
    stays emailed and is not sent again; finance fixes the addresses and resends it."""
    logger.warning("invoice %s emailed, but some recipients were refused", invoice.number)
    Invoice.objects.filter(pk=invoice.pk).update(
        email_failure_code=clipped(Invoice, "email_failure_code", refusal.code),
        email_failure_detail=clipped(Invoice, "email_failure_detail", refusal.detail),
    )


# --- the beat job ----------


@dataclass
class MissedEmails:
    """What the beat job did, by invoice number."""

    queued: list[str] = field(default_factory=list)
    no_recipients: list[str] = field(default_factory=list)
    # The broker refused a publish: these wait for the next run.
    not_queued: list[str] = field(default_factory=list)


def email_missed_invoices(now: datetime | None = None) -> MissedEmails:
    """The beat job's net for a lost invoice email: each invoice or credit note finalized
    over ``BILLING_FIRST_CHARGE_GRACE_MINUTES`` ago, not void, whose email neither went out
    nor failed (``Invoice.objects.not_emailed``: its task was never run, e.g. its publish
    failed at finalize) has the email task queued again; the task sends it once however
    often it is queued. One with nobody to email is marked so (``invoice_no_recipients``)
    and not looked at again. A failed publish (the broker down) ends the run: the rest wait
    for the next one."""
    now = now or timezone.now()
    run = MissedEmails()
    missed = list(
        Invoice.objects.not_emailed().past_first_charge_grace(now).order_by("finalized_at", "pk")
    )
    for index, invoice in enumerate(missed):
        if not invoice_recipients(invoice):
            _record_failure(invoice, NotSent.NO_RECIPIENTS, NO_RECIPIENTS_DETAIL)
            run.no_recipients.append(invoice.number)
            continue
        try:
            signature(EMAIL_TASK, args=(invoice.pk,)).delay()
        except Exception:  # the broker: every publish after this one would fail as well
            logger.exception("could not queue the email of invoice %s", invoice.number)
            run.not_queued = [later.number for later in missed[index:]]
            return run
        logger.info("invoice %s: its lost email queued again", invoice.number)
        run.queued.append(invoice.number)
    return run
