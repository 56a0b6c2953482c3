"""Sending the product's emails through Django's email backend (``EMAIL_URL``), with one rule
for what a failure means: one the mail server says may pass (4xx, a dropped connection, a
refused connect) is ``DeliveryDeferred``, for the caller to try again later; a permanent one
(5xx) is ``DeliveryRefused``, which another try would only meet again.
"""

from __future__ import annotations

import smtplib

from django.core.mail import EmailMessage, get_connection

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
            connection.send_messages([message])
    except OSError as exc:  # smtplib.SMTPException is an OSError too
        if _is_transient(exc):
            raise DeliveryDeferred(f"{type(exc).__name__}: {exc}") from exc
        raise DeliveryRefused(f"The mail server refused {what}: {exc}") from exc


def _is_transient(exc: OSError) -> bool:
    """4xx replies, dropped or refused connections pass; 5xx replies and the rest do not."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return any(400 <= code < 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return True
    return not isinstance(exc, smtplib.SMTPException)
