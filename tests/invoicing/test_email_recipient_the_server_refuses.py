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


# The test's SMTP server logs its side of the dialogue (not ours).
AIOSMTPD = "mail.log"
BUSY = "450 4.2.0 <gone@acme.example>: mailbox busy, try again later"


def test_a_recipient_the_server_defers_is_kept_as_deferred_not_refused_for_good(
    invoice,
    smtp_inbox,  # noqa: F811
):
    """A 450 (greylisting) or 452 (mailbox full) for one recipient while the server took the
    email for the others was kept as ``email_refused``, as a mailbox that does not exist is:
    finance read a temporary answer as one that every try would meet again."""
    smtp_inbox.refuse = {GONE: BUSY}

    result = tasks.email_invoice.apply(args=(invoice.pk,)).get()

    (envelope,) = smtp_inbox.envelopes
    assert envelope.rcpt_tos == [TAKEN]
    assert result == {"invoice": invoice.number, "recipients": 1, "refused": 1}
    invoice.refresh_from_db()
    assert invoice.emailed_at is not None
    assert invoice.email_failure_code == "email_partly_deferred"
    detail = invoice.email_failure_detail
    assert GONE in detail and "450" in detail
    assert "temporary" in detail and "not sent again" in detail, detail

    # Not sent again as a whole: the others would get it twice.
    again = tasks.email_invoice.apply(args=(invoice.pk,)).get()
    assert again == {"invoice": invoice.number, "not_sent": "already_emailed"}
    assert smtp_inbox.refusals == [GONE]


def test_a_payment_notice_deferred_for_one_recipient_is_kept_as_deferred(
    invoice,
    smtp_inbox,  # noqa: F811
):
    smtp_inbox.refuse = {GONE: BUSY}

    result = tasks.send_payment_notice.apply(args=(invoice.pk, "payment_method_required", 0)).get()

    assert result == {"notice": "payment_method_required", "recipients": 1}
    assert smtp_inbox.refusals == [GONE], "sent to the others: not tried again as a whole"
    invoice.refresh_from_db()
    assert invoice.payment_notice_failure_code == "email_partly_deferred"
    detail = invoice.payment_notice_failure_detail
    assert GONE in detail and "450" in detail and "temporary" in detail, detail


def test_one_recipient_deferred_and_one_refused_for_good_is_a_refusal_naming_both(
    customer,
    smtp_inbox,  # noqa: F811
):
    busy = "busy@acme.example"
    customer.account(invoice_emails=[TAKEN, GONE, busy])
    customer.ran(customer.metered(), JAN, 3)
    (pk,) = invoicing.close_billing_period(JAN).created
    smtp_inbox.refuse = {GONE: NO_MAILBOX, busy: "452 4.2.2 mailbox full"}
    invoice = invoicing.finalize_invoice(Invoice.objects.get(pk=pk))

    tasks.email_invoice.apply(args=(invoice.pk,)).get()

    invoice.refresh_from_db()
    assert invoice.email_failure_code == "email_refused"
    detail = invoice.email_failure_detail
    assert f"{GONE} (550" in detail and f"{busy} (452" in detail, detail
    assert detail.index("550") < detail.index("temporary") < detail.index("452"), detail


def test_a_payment_notice_refused_for_one_recipient_logs_no_address(
    invoice,
    smtp_inbox,  # noqa: F811
    caplog,
):
    """The refusal's detail, which names each refused address, was logged at WARNING, and
    said "not sent" of a notice that went out to the others. The addresses stay on the
    invoice only (payment_notice_failure_detail), as the invoice email's do."""
    with caplog.at_level("DEBUG"):
        tasks.send_payment_notice.apply(args=(invoice.pk, "payment_method_required", 0)).get()

    (warned,) = [r.getMessage() for r in caplog.records if r.name == "billing.payment_notices"]
    assert invoice.number in warned and "1 of its 2 recipient(s)" in warned, warned
    assert "not sent" not in warned, warned
    logged = [r.getMessage() for r in caplog.records if r.name != AIOSMTPD]
    assert not [line for line in logged if GONE in line or TAKEN in line], logged
    invoice.refresh_from_db()
    assert GONE in invoice.payment_notice_failure_detail


@pytest.mark.parametrize(
    ("answer", "raised", "code"),
    [
        (NO_MAILBOX, "DeliveryRefused", "email_refused"),
        (BUSY, "DeliveryDeferred", "email_deferred"),
    ],
)
def test_an_email_every_recipient_refused_names_no_address_where_it_is_logged(
    customer,
    smtp_inbox,  # noqa: F811
    caplog,
    answer,
    raised,
    code,
):
    """When the server refused every recipient, smtplib's exception (a dict of them) became
    the refusal's text, so each address was logged: by the invoice email's failure line, by
    Celery's task-failure line, and raised to whatever logs the task's error. The refusal
    now says how many recipients the server refused and what it answered, the addresses
    it quotes left out; the invoice keeps a refusal for good with each address, for finance
    to fix (a deferral, tried again, is kept as said)."""
    other = "other@acme.example"
    customer.account(invoice_emails=[GONE, other])
    customer.ran(customer.metered(), JAN, 3)
    (pk,) = invoicing.close_billing_period(JAN).created
    smtp_inbox.refuse = {GONE: answer, other: answer.replace(GONE, other)}
    invoice = invoicing.finalize_invoice(Invoice.objects.get(pk=pk))

    with caplog.at_level("DEBUG"):
        result = tasks.email_invoice.apply(args=(invoice.pk,))

    assert type(result.result).__name__ == raised
    assert smtp_inbox.envelopes == []
    said = str(result.result)
    assert "2 recipient(s)" in said and answer[:3] in said, said
    logged = [r.getMessage() for r in caplog.records if r.name != AIOSMTPD]
    logged += [str(r.exc_info[1]) for r in caplog.records if r.exc_info]
    assert [line for line in logged if "not emailed" in line], logged
    for text in [said, *logged]:
        assert GONE not in text and other not in text, text
    invoice.refresh_from_db()
    assert invoice.email_failure_code == code
    assert answer[:3] in invoice.email_failure_detail
    if code == "email_refused":
        assert GONE in invoice.email_failure_detail and other in invoice.email_failure_detail
