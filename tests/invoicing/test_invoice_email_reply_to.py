"""A customer who answers an invoice email writes to the seller's billing mailbox
(``BILLING_SELLER_EMAIL``), not to the sender, which is often a no-reply address: the seller of
every invoice is the settings' ``BILLING_SELLER``, copied into the invoice at finalize with that
address, which the e-invoice names as the seller's too. Until 2026-12-07 no setting gave the
seller an address, and no invoice email had a Reply-To."""

import pytest

from billing import invoicing, tasks
from tests.invoices.conftest import smtp_inbox  # noqa: F401 - the loopback SMTP server
from tests.invoices.pdf_reading import embedded_xml, xml_text
from tests.processes import python_with_settings

pytestmark = pytest.mark.django_db

SELLER_URI = "//ram:SellerTradeParty/ram:URIUniversalCommunication/ram:URIID"


def emailed(invoice):
    tasks.email_invoice.apply(args=(invoice.pk,)).get()


def test_replies_to_an_invoice_email_go_to_the_seller_mailbox(draft, smtp_inbox, settings):  # noqa: F811
    settings.BILLING_SELLER = {
        **settings.BILLING_SELLER,
        "invoice_emails": ["billing@seller.example"],
    }
    invoice = invoicing.finalize_invoice(draft)
    emailed(invoice)
    (message,) = smtp_inbox.messages
    assert message["From"] == settings.DEFAULT_FROM_EMAIL
    assert message["Reply-To"] == "billing@seller.example"
    (attachment,) = message.iter_attachments()
    _, tree = embedded_xml(attachment.get_content())
    assert xml_text(tree, SELLER_URI) == "billing@seller.example"


def test_the_configured_seller_has_its_mailbox_on_every_invoice(draft, smtp_inbox, settings):  # noqa: F811
    invoice = invoicing.finalize_invoice(draft)
    emailed(invoice)
    (message,) = smtp_inbox.messages
    assert settings.BILLING_SELLER_EMAIL
    assert message["Reply-To"] == settings.BILLING_SELLER_EMAIL
    assert invoice.account_snapshot["seller"]["invoice_emails"] == [settings.BILLING_SELLER_EMAIL]


def test_an_invoice_keeps_the_seller_mailbox_of_its_finalize(draft, smtp_inbox, settings):  # noqa: F811
    settings.BILLING_SELLER = {**settings.BILLING_SELLER, "invoice_emails": ["old@seller.example"]}
    invoice = invoicing.finalize_invoice(draft)
    settings.BILLING_SELLER = {**settings.BILLING_SELLER, "invoice_emails": ["new@seller.example"]}
    emailed(invoice)
    (message,) = smtp_inbox.messages
    assert message["Reply-To"] == "old@seller.example"


SELLER = "from django.conf import settings; print(settings.BILLING_SELLER['invoice_emails'])"


@pytest.mark.parametrize(
    ("value", "read"),
    [(" billing@seller.example ", "['billing@seller.example']"), ("", "[]")],
)
def test_the_seller_mailbox_is_read_from_the_environment(tmp_path, value, read):
    started = python_with_settings(tmp_path, SELLER, BILLING_SELLER_EMAIL=value)
    assert started.returncode == 0, started.stderr[-2000:]
    assert started.stdout.strip() == read


@pytest.mark.parametrize("value", ["billing", "billing@", '"bill\x01ing"@seller.example'])
def test_a_seller_mailbox_that_is_no_address_stops_the_service_at_start(tmp_path, value):
    started = python_with_settings(
        tmp_path, "import django; django.setup()", BILLING_SELLER_EMAIL=value
    )
    assert started.returncode != 0
    assert "BILLING_SELLER_EMAIL must be an email address such as billing@example.com" in (
        started.stderr
    ), started.stderr[-2000:]
