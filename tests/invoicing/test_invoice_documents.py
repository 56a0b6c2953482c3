"""A finalized invoice as a tenant and its accountant receive it: the PDF/A-3 from
GET /api/v1/invoices/{id}/pdf, with the Factur-X XML embedded, and the email sent on finalize
through a real SMTP server (aiosmtpd on loopback)."""

from datetime import timedelta

import pytest

from billing import collection, invoicing
from billing.models import Invoice
from marketplace.models import Order, OrderStatus
from tests.invoices.conftest import smtp_inbox  # noqa: F401 - the loopback SMTP server
from tests.invoices.pdf_reading import NS, embedded_xml, pdf_text
from tests.invoicing.conftest import JAN
from tests.invoicing.test_invoice_api import billing_member, issue  # noqa: F401

pytestmark = pytest.mark.django_db


def _grand_total(pdf: bytes) -> str:
    _, xml = embedded_xml(pdf)
    return xml.findtext(".//ram:GrandTotalAmount", namespaces=NS)


def test_a_finalized_invoice_downloads_as_pdf_a3_with_its_xml(billing_member):  # noqa: F811
    client, customer = billing_member
    customer.account()
    invoice = invoicing.finalize_invoice(issue(customer))
    response = client.get(f"/api/v1/invoices/{invoice.pk}/pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f'filename="{invoice.number}.pdf"' in response["Content-Disposition"]
    pdf = response.content
    text = pdf_text(pdf)
    assert invoice.number in text and "Acme Pumps GmbH" in text
    assert _grand_total(pdf) == f"{invoice.total / 100:.2f}"


def test_a_credit_note_prints_positive_amounts_and_names_the_invoice(billing_member):  # noqa: F811
    client, customer = billing_member
    customer.account()
    invoice = invoicing.finalize_invoice(issue(customer))
    credit = invoicing.issue_credit_note(invoice, reason="goodwill")
    pdf = client.get(f"/api/v1/invoices/{credit.pk}/pdf").content
    _, xml = embedded_xml(pdf)
    assert xml.findtext(".//ram:TypeCode", namespaces=NS) == "381"
    assert _grand_total(pdf) == f"{-credit.total / 100:.2f}"
    assert invoice.number in pdf_text(pdf)


def test_a_draft_has_no_pdf_yet_and_another_tenants_invoice_is_404(
    billing_member,  # noqa: F811
    make_customer,
):
    client, customer = billing_member
    customer.account()
    draft = issue(customer)
    refused = client.get(f"/api/v1/invoices/{draft.pk}/pdf")
    assert refused.status_code == 409
    assert refused.json()["code"] == "invoice_not_finalized"
    stranger = make_customer()
    stranger.account()
    theirs = invoicing.finalize_invoice(issue(stranger, start=JAN))
    assert client.get(f"/api/v1/invoices/{theirs.pk}/pdf").status_code == 404


def test_finalize_emails_the_pdf_to_the_invoice_emails(
    customer,
    smtp_inbox,  # noqa: F811
    eager_celery,
    django_capture_on_commit_callbacks,
):
    customer.account(invoice_emails=["ap@acme.example", "cfo@acme.example"])
    draft = issue(customer)
    with django_capture_on_commit_callbacks(execute=True):
        invoice = invoicing.finalize_invoice(draft)
    (message,) = smtp_inbox.messages
    assert sorted(smtp_inbox.envelopes[0].rcpt_tos) == ["ap@acme.example", "cfo@acme.example"]
    assert invoice.number in message["Subject"]
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == f"{invoice.number}.pdf"
    pdf = attachment.get_content()
    assert _grand_total(pdf) == f"{Invoice.objects.get(pk=invoice.pk).total / 100:.2f}"


def test_a_month_with_a_paid_one_time_order_asks_only_for_the_rest(
    billing_member,  # noqa: F811
    smtp_inbox,  # noqa: F811
    eager_celery,
    django_capture_on_commit_callbacks,
):
    """The one-time order was paid when it was placed: the PDF, its e-invoice and the email
    all say so and ask for what Stripe will collect, the invoice's ``amount_due``."""
    client, customer = billing_member
    customer.account(invoice_emails=["ap@acme.example"])
    customer.one_time(amount=5000)
    draft = issue(customer)
    assert draft.prepaid_amount == 5000
    with django_capture_on_commit_callbacks(execute=True):
        invoice = invoicing.finalize_invoice(draft)
    due = client.get(f"/api/v1/invoices/{invoice.pk}").json()["amount_due"]
    assert due == invoice.total - 5000 > 0

    pdf = client.get(f"/api/v1/invoices/{invoice.pk}/pdf").content
    _, xml = embedded_xml(pdf)
    assert xml.findtext(".//ram:TotalPrepaidAmount", namespaces=NS) == "50.00"
    assert xml.findtext(".//ram:DuePayableAmount", namespaces=NS) == f"{due / 100:.2f}"
    text = pdf_text(pdf)
    assert "Paid in advance" in text and "50.00 EUR" in text
    (message,) = smtp_inbox.messages
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "Paid in advance: 50.00 EUR" in body
    assert f"Amount due: {due / 100:.2f} EUR" in body


def test_a_refund_already_paid_back_is_shown_as_such_not_as_a_negative_payment(
    billing_member,  # noqa: F811
):
    """An order of December refunded in January: its credit line is paid back already, so
    January's invoice names it "Already refunded", and asks for what Stripe will collect."""
    client, customer = billing_member
    customer.account()
    order = customer.one_time(amount=123, at=JAN - timedelta(days=5))
    Order.objects.filter(pk=order.pk).update(
        status=OrderStatus.REFUNDED, refunded_at=JAN + timedelta(days=10)
    )
    draft = issue(customer)
    assert draft.prepaid_amount == -123
    invoice = invoicing.finalize_invoice(draft)
    pdf = client.get(f"/api/v1/invoices/{invoice.pk}/pdf").content
    _, xml = embedded_xml(pdf)
    assert (
        xml.findtext(".//ram:DuePayableAmount", namespaces=NS) == f"{invoice.amount_due / 100:.2f}"
    )
    text = pdf_text(pdf)
    assert "Already refunded 1.23 EUR" in text  # the credit line itself shows -1.23


def test_an_invoice_with_a_refund_credited_in_full_says_credited_not_paid(
    billing_member,  # noqa: F811
):
    """Credited in full, an invoice holding a refund already paid back was paid nothing (its
    ``amount_paid`` is the refund, negative): its PDF says credited, its rows add up."""
    client, customer = billing_member
    customer.account()
    order = customer.one_time(amount=123, at=JAN - timedelta(days=5))
    Order.objects.filter(pk=order.pk).update(
        status=OrderStatus.REFUNDED, refunded_at=JAN + timedelta(days=10)
    )
    invoice = invoicing.finalize_invoice(issue(customer))
    invoicing.issue_credit_note(invoice, reason="goodwill")
    shown = client.get(f"/api/v1/invoices/{invoice.pk}").json()
    assert (shown["status"], shown["amount_remaining"]) == ("paid", 0)
    text = " ".join(pdf_text(client.get(f"/api/v1/invoices/{invoice.pk}/pdf").content).split())
    total, credited = invoice.total / 100, shown["credited_amount"] / 100
    assert (
        f"Total {total:.2f} EUR Already refunded 1.23 EUR "
        f"Credited by credit notes {credited:.2f} EUR Amount due 0.00 EUR"
    ) in text
    assert "Credited in full \N{EN DASH} nothing is due." in text
    assert "Paid -" not in text


def test_once_paid_the_api_and_the_pdf_agree_on_what_is_still_owed(billing_member):  # noqa: F811
    """``amount_due`` keeps what the invoice asked (as Stripe's invoices do);
    ``amount_remaining`` is what the PDF prints as the amount due: 0 once paid."""
    client, customer = billing_member
    customer.account()
    customer.one_time(amount=5000)
    invoice = invoicing.finalize_invoice(issue(customer))
    before = client.get(f"/api/v1/invoices/{invoice.pk}").json()
    assert (before["amount_paid"], before["amount_remaining"]) == (5000, invoice.total - 5000)
    collection.record_offline_payment(invoice, reference="SEPA E2E-0042")

    after = client.get(f"/api/v1/invoices/{invoice.pk}").json()
    assert after["amount_due"] == before["amount_due"] == invoice.total - 5000
    assert (after["amount_paid"], after["amount_remaining"]) == (invoice.total, 0)
    _, xml = embedded_xml(client.get(f"/api/v1/invoices/{invoice.pk}/pdf").content)
    assert xml.findtext(".//ram:DuePayableAmount", namespaces=NS) == "0.00"


def test_a_void_invoice_is_owed_by_nobody(billing_member):  # noqa: F811
    client, customer = billing_member
    customer.account()
    invoice = invoicing.finalize_invoice(issue(customer))
    invoicing.void_invoice(invoice, reason="issued twice")
    body = client.get(f"/api/v1/invoices/{invoice.pk}").json()
    assert (body["status"], body["amount_remaining"]) == ("void", 0)
    assert body["amount_due"] == invoice.total  # what it had asked
