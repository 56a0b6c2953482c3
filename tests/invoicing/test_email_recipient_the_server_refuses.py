"""One of an invoice's recipients the mail server refuses at RCPT (550, the mailbox does not
exist) while it takes the message for the others (aiosmtpd on loopback): the invoice email
and the payment notice go to the others, the task counts only them, and the refused address
is kept on the invoice for finance, as a refusal of the whole message is (docs/billing.md)."""

import pytest

from billing import invoicing, tasks
from billing.models import Invoice
from tests.invoices.conftest import smtp_inbox  # noqa: F401 - the loopback SMTP server
from tests.invoicing.conftest import JAN

pytestmark = pytest.mark.django_db

TAKEN = "ap@acme.example"
GONE = "gone@acme.example"
NO_MAILBOX = "550 5.1.1 <gone@acme.example>: mailbox unavailable"


@pytest.fixture
def invoice(customer, smtp_inbox):  # noqa: F811
    customer.account(invoice_emails=[TAKEN, GONE])
    customer.ran(customer.metered(), JAN, 3)
    (pk,) = invoicing.close_billing_period(JAN).created
    smtp_inbox.refuse = {GONE: NO_MAILBOX}
    return invoicing.finalize_invoice(Invoice.objects.get(pk=pk))


def test_an_invoice_email_refused_for_one_recipient_is_kept_for_finance(
    invoice,
    smtp_inbox,  # noqa: F811
):
    result = tasks.email_invoice.apply(args=(invoice.pk,)).get()

    (envelope,) = smtp_inbox.envelopes
    assert envelope.rcpt_tos == [TAKEN]
    assert result == {"invoice": invoice.number, "recipients": 1, "refused": 1}
    invoice.refresh_from_db()
    assert invoice.emailed_at is not None  # it went to the others: not sent to them again
    assert invoice.email_failure_code == "email_refused"
    assert GONE in invoice.email_failure_detail
    assert "550" in invoice.email_failure_detail
    assert TAKEN not in invoice.email_failure_detail.replace(f"<{GONE}>", "")

    # The task delivered again sends nothing more and keeps the refusal.
    again = tasks.email_invoice.apply(args=(invoice.pk,)).get()
    assert again == {"invoice": invoice.number, "not_sent": "already_emailed"}
    assert smtp_inbox.refusals == [GONE]
    invoice.refresh_from_db()
    assert invoice.email_failure_code == "email_refused"


def test_a_payment_notice_refused_for_one_recipient_is_kept_for_finance(
    invoice,
    smtp_inbox,  # noqa: F811
):
    assert invoice.is_unpaid

    result = tasks.send_payment_notice.apply(args=(invoice.pk, "payment_method_required", 0)).get()

    (envelope,) = smtp_inbox.envelopes
    assert envelope.rcpt_tos == [TAKEN]
    assert result == {"notice": "payment_method_required", "recipients": 1}
    assert smtp_inbox.refusals == [GONE], "a refusal for good is not tried again"
    invoice.refresh_from_db()
    assert invoice.payment_notice_failure_code == "email_refused"
    assert f"Invoice {invoice.number}: no card on file" in invoice.payment_notice_failure_detail
    assert GONE in invoice.payment_notice_failure_detail
    assert "550" in invoice.payment_notice_failure_detail
