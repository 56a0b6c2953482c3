"""Fixtures of the invoice document tests: a real SMTP server on loopback, PDFs read back."""

from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

import environ
import pytest
from aiosmtpd.controller import Controller

from tests.network import free_port


@dataclass
class Inbox:
    """What the SMTP server received; ``replies`` are answers given to the next DATA
    commands before it accepts again (e.g. a 451 to make the sender retry); ``refuse`` maps
    a recipient to the answer its every RCPT gets (e.g. a 550, the mailbox does not exist),
    counted in ``refusals``, while the server takes the message for the others."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    refusals: list[str] = field(default_factory=list)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if answer := self.refuse.get(address):
            self.refusals.append(address)
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.replies:
            return self.replies.pop(0)
        self.envelopes.append(envelope)
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_inbox(settings):
    """An aiosmtpd server on 127.0.0.1, and the email settings an ``EMAIL_URL`` pointing at
    it gives (parsed the way edgeplug/settings.py parses it)."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    for name, value in environ.Env.email_url_config(f"smtp://127.0.0.1:{port}").items():
        setattr(settings, name, value)
    settings.EMAIL_TIMEOUT = 10
    yield inbox
    controller.stop()
