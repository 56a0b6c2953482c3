"""Email an invoice: the PDF attached, sent through Django's email backend (``EMAIL_URL``).

A failure the mail server says may pass (4xx, a dropped connection, a refused connect) is
raised as ``DeliveryDeferred`` so the Celery task retries it with backoff; a permanent one
(5xx) is ``DeliveryRefused`` and is not retried (``edgeplug.mail``, the rule of every email).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from django.conf import settings
from django.core.mail import EmailMessage

from billing.documents.document import InvoiceDocument
from billing.documents.errors import InvalidInvoiceDocument
from billing.documents.rendering import (
    TITLES,
    credit_mention,
    einvoice_mention,
    settled_mention,
    settlement_rows,
)
from edgeplug.mail import Delivered, DeliveryDeferred, DeliveryRefused, deliver
from marketplace.pricing import format_amount

_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")

# What it offers, and what ``send_invoice_email`` returns and raises (edgeplug.mail's) for its
# callers.
__all__ = [
    "Delivered",
    "DeliveryDeferred",
    "DeliveryRefused",
    "build_invoice_email",
    "pdf_filename",
    "send_invoice_email",
]


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
    lines += ["", einvoice_mention(doc)]
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
) -> Delivered:
    """Send the invoice with its PDF: to whom it went, and whom the server refused; raise
    ``DeliveryDeferred`` or ``DeliveryRefused`` when it went to nobody."""
    return deliver(build_invoice_email(doc, pdf_bytes, recipients), doc.number)


def _reject_no_recipients(recipients: Sequence[str]) -> None:
    if (
        isinstance(recipients, str)
        or not recipients
        or not all(isinstance(r, str) and "@" in r for r in recipients)
    ):
        raise InvalidInvoiceDocument("An invoice email needs a list of recipient addresses.")
