"""Sending the product's emails through Django's email backend (``EMAIL_URL``), with one rule
for what a failure means: one the mail server says may pass (4xx, a dropped connection, a
refused connect) is ``DeliveryDeferred``, for the caller to try again later; a permanent one
(5xx) is ``DeliveryRefused``, which another try would only meet again. Every email gets its
Message-ID in its sender's domain (``with_message_id``), not in the sending host's.
"""

from __future__ import annotations

import smtplib
from email.utils import make_msgid, parseaddr

from django.core.mail import EmailMessage, get_connection
from django.utils.encoding import punycode

from edgeplug.errors import DomainError


class DeliveryDeferred(Exception):
    """The mail server could not take the message now; sending again later may work."""


class DeliveryRefused(DomainError, code="email_refused", status=502):
    """The mail server refused the message for good."""


def deliver(message: EmailMessage, what: str) -> None:
    """Send ``message`` (``what`` names it in a refusal); raise ``DeliveryDeferred`` or
    ``DeliveryRefused``."""
    try:
        with get_connection(fail_silently=False) as connection:
            connection.send_messages([with_message_id(message)])
    except OSError as exc:  # smtplib.SMTPException is an OSError too
        if _is_transient(exc):
            raise DeliveryDeferred(f"{type(exc).__name__}: {exc}") from exc
        raise DeliveryRefused(f"The mail server refused {what}: {exc}") from exc


def send_mail(subject: str, body: str, from_email: str, to: list[str]) -> int:
    """Django's ``send_mail`` (a plain-text message, failures raised as they come), with
    ``with_message_id``'s Message-ID."""
    return with_message_id(EmailMessage(subject, body, from_email, to)).send()


def with_message_id(message: EmailMessage) -> EmailMessage:
    """``message`` with a Message-ID in the domain of its sender (``DEFAULT_FROM_EMAIL`` for
    every email the product sends). Django's own names the sending host (``localhost``, the
    email worker pod's name): spam filters score a Message-ID without a real domain, and it
    shows our internal host names to every reader. A sender without a domain keeps Django's."""
    _, at, domain = parseaddr(message.from_email)[1].rpartition("@")
    if at and domain:
        message.extra_headers["Message-ID"] = make_msgid(domain=punycode(domain))
    return message


def _is_transient(exc: OSError) -> bool:
    """4xx replies, dropped or refused connections pass; 5xx replies and the rest do not."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return any(400 <= code < 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return True
    return not isinstance(exc, smtplib.SMTPException)
