"""Email an invoice: the PDF attached, sent through Django's email backend (``EMAIL_URL``).

A failure the mail server says may pass (4xx, a dropped connection, a refused connect) is
raised as ``DeliveryDeferred`` so the Celery task retries it with backoff; a permanent one
(5xx) is ``DeliveryRefused`` and is not retried.
"""

from __future__ import annotations

import re
import smtplib
from collections.abc import Sequence

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from billing.documents.document import InvoiceDocument
from billing.documents.errors import InvalidInvoiceDocument
from billing.documents.rendering import (
    TITLES,
    credit_mention,
    settled_mention,
    settlement_rows,
)
from edgeplug.errors import DomainError
from marketplace.pricing import format_amount

_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


class DeliveryDeferred(Exception):
    """The mail server could not take the message now; sending again later may work."""


class DeliveryRefused(DomainError, code="email_refused", status=502):
    """The mail server refused the message for good."""


def build_invoice_email(
    doc: InvoiceDocument, pdf_bytes: bytes, recipients: Sequence[str]
) -> EmailMessage:
    _reject_no_recipients(recipients)
    title = TITLES[doc.kind]
    lines = [
        "Hello,",
        "",
        f"Please find attached {title.lower()} {doc.number} from {doc.seller.legal_name} "
        f"for {doc.period_start.isoformat()} to {doc.period_end.isoformat()}.",
        "",
        f"Total: {format_amount(doc.total, doc.currency)}",
    ]
    if doc.is_credit_note:
        lines.append(f"It credits invoice {doc.credit_of}.")
        if credit := credit_mention(doc):
            lines.append(credit)
    else:
        lines += [f"{label}: {amount}" for label, amount in settlement_rows(doc)]
        lines.append(
            settled_mention(doc)
            or f"Amount due: {format_amount(doc.amount_due, doc.currency)} "
            f"by {doc.due_date.isoformat()}."
        )
    lines += [
        "",
        "The PDF carries its EN 16931 e-invoice (factur-x.xml) for your accounting software.",
    ]
    message = EmailMessage(
        subject=f"{title} {doc.number} from {doc.seller.legal_name}",
        body="\n".join(lines) + "\n",
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=list(recipients),
        reply_to=list(doc.seller.emails[:1]),
    )
    message.attach(pdf_filename(doc), pdf_bytes, "application/pdf")
    return message


def pdf_filename(doc: InvoiceDocument) -> str:
    return f"{_UNSAFE_FILENAME.sub('-', doc.number).strip('-') or 'invoice'}.pdf"


def send_invoice_email(
    doc: InvoiceDocument, pdf_bytes: bytes, recipients: Sequence[str]
) -> EmailMessage:
    """Send the invoice with its PDF; raise ``DeliveryDeferred`` or ``DeliveryRefused``."""
    message = build_invoice_email(doc, pdf_bytes, recipients)
    try:
        with get_connection(fail_silently=False) as connection:
            connection.send_messages([message])
    except OSError as exc:  # smtplib.SMTPException is an OSError too
        if _is_transient(exc):
            raise DeliveryDeferred(f"{type(exc).__name__}: {exc}") from exc
        raise DeliveryRefused(f"The mail server refused {doc.number}: {exc}") from exc
    return message


def _reject_no_recipients(recipients: Sequence[str]) -> None:
    if (
        isinstance(recipients, str)
        or not recipients
        or not all(isinstance(r, str) and "@" in r for r in recipients)
    ):
        raise InvalidInvoiceDocument("An invoice email needs a list of recipient addresses.")


def _is_transient(exc: OSError) -> bool:
    """4xx replies, dropped or refused connections pass; 5xx replies and the rest do not."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return any(400 <= code < 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return True
    return not isinstance(exc, smtplib.SMTPException)
