"""The invoice email reaches a real SMTP server (aiosmtpd on loopback) with the PDF attached;
a deferral and a refusal are told apart (the task's retries: tests/invoicing/
test_invoice_email_sent_once.py)."""

import pytest
from facturx import get_xml_from_pdf

from billing.documents import render_pdf, send_invoice_email
from billing.documents.errors import InvalidInvoiceDocument
from billing.documents.mail import DeliveryDeferred
from tests.invoices.documents import invoice
from tests.invoices.pdf_reading import embedded_xml, pdf_text, summation
from tests.network import refusing_port, silent_port

RECIPIENTS = ["ap@acme.example", "cfo@acme.example"]


def _attachment(message):
    (part,) = list(message.iter_attachments())
    return part.get_filename(), part.get_content_type(), part.get_content()


def test_the_invoice_email_arrives_with_its_pdf(smtp_inbox, settings):
    doc = invoice()
    send_invoice_email(doc, render_pdf(doc), RECIPIENTS)
    (message,) = smtp_inbox.messages
    (envelope,) = smtp_inbox.envelopes
    assert envelope.rcpt_tos == RECIPIENTS
    assert message["Subject"] == "Invoice EP-2026-000042 from EdgePlug SAS"
    assert message["From"] == settings.DEFAULT_FROM_EMAIL
    assert message["Reply-To"] == "billing@edgeplug.example"
    body = message.get_body(("plain",)).get_content()
    assert "Total: 72.34 EUR" in body and "Amount due: 72.34 EUR by 2026-09-03." in body
    filename, content_type, pdf = _attachment(message)
    assert (filename, content_type) == ("EP-2026-000042.pdf", "application/pdf")
    assert "Total 72.34 EUR" in pdf_text(pdf)
    _, tree = embedded_xml(pdf)
    assert summation(tree, "GrandTotalAmount") == "72.34"
    assert "carries its EN 16931 e-invoice" in body and "factur-x.xml" in body


@pytest.mark.parametrize("currency", ["KWD", "BHD"])
def test_a_dinar_invoice_email_promises_no_einvoice_its_pdf_lacks(smtp_inbox, currency):
    """Three decimals cannot be stated in EN 16931: the PDF carries no XML, and the email
    says so as the PDF's footer does, instead of sending accounts payable to look for it."""
    doc = invoice(currency=currency)
    pdf = render_pdf(doc)
    assert get_xml_from_pdf(pdf, check_xsd=False) == (False, False)
    send_invoice_email(doc, pdf, RECIPIENTS)
    (message,) = smtp_inbox.messages
    body = " ".join(message.get_body(("plain",)).get_content().split())
    assert "factur-x.xml" not in body and "carries its EN 16931" not in body
    said = "No EN 16931 e-invoice is attached: EN 16931 amounts have at most 2 decimals"
    assert f"{said} and {currency} has 3." in body
    assert f"{said} and {currency} has 3." in " ".join(pdf_text(pdf).split())


def test_the_invoice_email_names_the_sender_s_domain_not_the_worker_host(smtp_inbox, settings):
    """Its Message-ID was Django's, ``<…@localhost>`` or the email worker pod's name: a domain
    spam filters score, and our internal host names shown to every customer."""
    settings.DEFAULT_FROM_EMAIL = "EdgePlug <billing@bücher.example>"
    doc = invoice()
    send_invoice_email(doc, render_pdf(doc), RECIPIENTS)
    (message,) = smtp_inbox.messages
    assert message["Message-ID"].endswith("@xn--bcher-kva.example>"), message["Message-ID"]


def test_an_unreachable_server_is_a_deferral(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    doc = invoice()
    with refusing_port() as port:
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        with pytest.raises(DeliveryDeferred, match="ConnectionRefusedError"):
            send_invoice_email(doc, b"%PDF-1.7", RECIPIENTS)


def test_a_server_that_stops_answering_is_a_deferral_after_the_timeout(settings):
    """An invoice email is sent with its invoice row locked: a silent server must not hold it
    for ever, as Django's default (no timeout) would."""
    assert settings.EMAIL_TIMEOUT  # EMAIL_TIMEOUT_S, 30 s unless set
    settings.EMAIL_TIMEOUT = 1
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    with silent_port() as port:  # takes the connection, never greets
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        with pytest.raises(DeliveryDeferred, match="timed out"):
            send_invoice_email(invoice(), b"%PDF-1.7", RECIPIENTS)


def test_an_email_needs_recipients(smtp_inbox):
    doc = invoice()
    for recipients in ([], "ap@acme.example", ["not-an-address"]):
        with pytest.raises(InvalidInvoiceDocument, match="recipient"):
            send_invoice_email(doc, b"%PDF-1.7", recipients)
    assert smtp_inbox.messages == []
