"""Sending the product's emails through Django's email backend (``EMAIL_URL``), with one rule
for what a failure means: one the mail server says may pass (4xx, a dropped connection, a
refused connect) is ``DeliveryDeferred``, for the caller to try again later; a permanent one
(5xx) is ``DeliveryRefused``, which another try would only meet again. A server that refuses
some recipients and takes the message for the others has sent it: ``deliver`` says to whom,
and which it refused (``Delivered.refusal``, by the same rule: ``email_partly_deferred`` when
each refused one got a 4xx, else ``email_refused``), for the caller to keep. Every email gets
its Message-ID in its sender's domain (``with_message_id``), not in the sending host's.
"""

from __future__ import annotations

import re
import smtplib
from collections import Counter
from dataclasses import dataclass
from email.utils import make_msgid, parseaddr

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends import smtp
from django.core.mail.message import sanitize_address
from django.utils.encoding import punycode

from edgeplug.errors import DomainError


class DeliveryDeferred(Exception):
    """The mail server could not take the message now; sending again later may work."""


class DeliveryRefused(DomainError, code="email_refused", status=502):
    """The mail server refused the message for good. Its ``detail`` is for the caller to keep
    and may name recipients; its text (``str``), which is logged, names none."""


class DeliveryPartlyDeferred(DomainError, code="email_partly_deferred", status=502):
    """The mail server took the message for some recipients and answered the others with a
    temporary refusal (4xx: greylisting, a full mailbox). Never raised: the message went out;
    the caller keeps it, and does not send the message again as a whole."""


@dataclass(frozen=True)
class Delivered:
    """A message the mail server took: for ``accepted``. ``refused`` maps each recipient it
    refused at RCPT, while it took the message for the others, to its answer; ``refusal``
    says so (not raised: the message went out) for the caller to keep, as it keeps the
    refusal of a whole message: a ``DeliveryPartlyDeferred`` when every one of them got a
    temporary answer (4xx), else a ``DeliveryRefused`` (its detail names the 4xx ones as
    temporary too). It is not sent again for them: that would send it twice to the others."""

    accepted: list[str]
    refused: dict[str, str]
    refusal: DeliveryRefused | DeliveryPartlyDeferred | None = None


def deliver(message: EmailMessage, what: str) -> Delivered:
    """Send ``message`` (``what`` names it in a refusal); raise ``DeliveryDeferred`` or
    ``DeliveryRefused`` when it went to nobody."""
    message = with_message_id(message)
    try:
        with get_connection(_backend(), fail_silently=False) as connection:
            connection.send_messages([message])
            refused = dict(getattr(connection, "refused", {}))
    except OSError as exc:  # smtplib.SMTPException is an OSError too
        raise _failure(exc, what) from exc
    return _delivered(message, refused, what)


class SMTPBackend(smtp.EmailBackend):
    """Django's SMTP backend, which also keeps the recipients the server refused at RCPT
    while it took the message for the others (``refused``, of the last message sent):
    smtplib's ``sendmail`` returns them, raising only when it refuses every one, and
    Django's backend drops what it returns, so such a message counted as sent to all."""

    @property
    def connection_class(self):
        return _KeptRefusalsSMTP_SSL if self.use_ssl else _KeptRefusalsSMTP

    @property
    def refused(self) -> dict[str, tuple[int, bytes]]:
        return getattr(self.connection, "refused", {})


class _KeepsRefusals:
    """An smtplib connection keeping what its last ``sendmail`` returned: the recipients
    refused, each with the server's code and answer."""

    refused: dict[str, tuple[int, bytes]] = {}

    def sendmail(self, *args, **kwargs):
        self.refused = super().sendmail(*args, **kwargs)
        return self.refused


class _KeptRefusalsSMTP(_KeepsRefusals, smtplib.SMTP):
    pass


class _KeptRefusalsSMTP_SSL(_KeepsRefusals, smtplib.SMTP_SSL):
    pass


def _backend() -> str | None:
    """``SMTPBackend`` for Django's SMTP backend (what an ``smtp://`` ``EMAIL_URL`` names),
    else the configured one (console, file, memory: mail kept on the machine, nobody refused)."""
    if settings.EMAIL_BACKEND == "django.core.mail.backends.smtp.EmailBackend":
        return f"{__name__}.{SMTPBackend.__name__}"
    return None


def _delivered(
    message: EmailMessage, refused: dict[str, tuple[int, bytes]], what: str
) -> Delivered:
    """The message's recipients as it names them, split by what the server answered (which
    names them as the backend sent them: ``sanitize_address``'s)."""
    encoding = message.encoding or settings.DEFAULT_CHARSET
    accepted: list[str] = []
    said: dict[str, str] = {}
    for_good: dict[str, str] = {}
    deferred: dict[str, str] = {}
    for recipient in message.recipients():
        if answer := refused.get(sanitize_address(recipient, encoding)):
            code, reply = answer
            said[recipient] = f"{code} {reply.decode(errors='replace')}"
            (deferred if _is_temporary(code) else for_good)[recipient] = said[recipient]
        else:
            accepted.append(recipient)
    if not said:
        return Delivered(accepted, {})
    parts = [f"refused {what} for {_listed(for_good)}"] if for_good else []
    if deferred:
        parts.append(
            f"deferred {what} (a temporary refusal, 4xx) for {_listed(deferred)}; resend it "
            "once that passes"
        )
    detail = (
        f"The mail server {', and '.join(parts)}: it went to the other {len(accepted)} "
        "recipient(s) only, and is not sent again as a whole (they would get it twice)."
    )
    refusal = DeliveryRefused(detail) if for_good else DeliveryPartlyDeferred(detail)
    return Delivered(accepted, said, refusal)


def _failure(exc: OSError, what: str) -> DeliveryDeferred | DeliveryRefused:
    """The failure of a message that went to nobody, by ``_is_transient``. When the server
    refused every recipient (smtplib's text is the dict of them) a refusal's ``detail``, which
    the caller keeps, names each with its answer, and its text, which is logged and raised
    out of tasks, names none: how many it refused, and its answers, each address one quotes
    read as "the recipient"."""
    if not isinstance(exc, smtplib.SMTPRecipientsRefused):
        if _is_transient(exc):
            return DeliveryDeferred(f"{type(exc).__name__}: {exc}")
        return DeliveryRefused(f"The mail server refused {what}: {exc}")
    answers = {
        address: f"{code} {reply.decode(errors='replace')}"
        for address, (code, reply) in exc.recipients.items()
    }
    unnamed = Counter(
        re.sub(re.escape(address), "the recipient", answer, flags=re.I)
        for address, answer in answers.items()
    )
    said = (
        f"The mail server refused {what} for every one of its {len(answers)} recipient(s): "
        + "; ".join(f"{answer} (x{n})" if n > 1 else answer for answer, n in unnamed.items())
    )
    if _is_transient(exc):
        return DeliveryDeferred(said)
    error = DeliveryRefused(
        f"The mail server refused {what} for every one of its recipients: {_listed(answers)}"
    )
    error.args = (said,)
    return error


def _listed(answers: dict[str, str]) -> str:
    return "; ".join(f"{recipient} ({answer})" for recipient, answer in answers.items())


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
        return any(_is_temporary(code) for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return _is_temporary(exc.smtp_code)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return True
    return not isinstance(exc, smtplib.SMTPException)


def _is_temporary(code: int) -> bool:
    """An SMTP reply that may pass (4xx), the one line between temporary and for good: of a
    whole message (``_is_transient``) and of some recipients (``_delivered``)."""
    return 400 <= code < 500
