"""A finalized invoice's email (with its PDF) goes out once, through a real SMTP server
(aiosmtpd on loopback): a task delivered or queued twice sends one email, finance's resend
sends it again on purpose, a void invoice's queued email is not sent, and the beat job sends
the email whose task was lost (its publish failed at finalize) after the grace period,
credit notes included, but not one the mail server refused, nobody is to receive or whose
PDF cannot be made."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import OperationalError, connection, connections
from django.utils import timezone

from billing import invoice_emails, invoicing, tasks
from billing.documents import mail
from billing.models import BillingAccount, Invoice
from tests.concurrency import needs_row_locks
from tests.invoices.conftest import smtp_inbox  # noqa: F401 - the loopback SMTP server
from tests.invoicing.conftest import JAN
from tests.migrations import migrated_back

pytestmark = pytest.mark.django_db

SENT_TO = ["ap@acme.example"]


def after_grace() -> object:
    return timezone.now() + timedelta(minutes=16)


def email(invoice, **kwargs) -> dict:
    """The email task as a worker runs it (its retries included)."""
    return tasks.email_invoice.apply(args=(invoice.pk,), kwargs=kwargs).get()


def test_the_email_task_run_twice_sends_one_email(draft, smtp_inbox):  # noqa: F811
    invoice = invoicing.finalize_invoice(draft)  # its queued tasks do not run here
    first, again = email(invoice), email(invoice)
    (message,) = smtp_inbox.messages
    assert invoice.number in message["Subject"]
    # The worker logs a task's result and the result backend keeps it: a count, no address
    # (before: the addresses, in every worker's log).
    assert first == {"invoice": invoice.number, "recipients": 1}
    assert again == {"invoice": invoice.number, "not_sent": "already_emailed"}
    invoice.refresh_from_db()
    assert invoice.emailed_at is not None and invoice.email_failure_code == ""


def test_finance_resend_sends_it_again(
    draft,
    smtp_inbox,  # noqa: F811
    eager_celery,
    django_capture_on_commit_callbacks,
):
    invoice = invoicing.finalize_invoice(draft)
    email(invoice)
    first_sent = Invoice.objects.get(pk=invoice.pk).emailed_at
    with django_capture_on_commit_callbacks(execute=True):
        assert invoicing.resend_invoice_email(invoice) == SENT_TO
    assert len(smtp_inbox.messages) == 2
    assert Invoice.objects.get(pk=invoice.pk).emailed_at == first_sent  # the first email's time


def test_a_void_invoice_s_queued_email_is_not_sent(draft, smtp_inbox):  # noqa: F811
    invoice = invoicing.finalize_invoice(draft)
    invoicing.void_invoice(invoice, reason="issued to the wrong entity")
    # The email queued at finalize reaches a worker only now (a backlog, SMTP deferring it).
    queued = email(invoice)
    assert smtp_inbox.messages == []
    assert queued == {"invoice": invoice.number, "not_sent": "invoice_void"}
    assert email(invoice, resend=True)["not_sent"] == "invoice_void"
    assert invoice_emails.email_missed_invoices(now=after_grace()).queued == []


def test_the_beat_job_sends_lost_emails_of_invoices_and_credit_notes_once(
    draft,
    smtp_inbox,  # noqa: F811
    eager_celery,
):
    invoice = invoicing.finalize_invoice(draft)
    note = invoicing.issue_credit_note(invoice, reason="goodwill")
    assert invoice_emails.email_missed_invoices().queued == []  # within the grace period

    run = invoice_emails.email_missed_invoices(now=after_grace())
    assert run.queued == [invoice.number, note.number]
    subjects = sorted(message["Subject"] for message in smtp_inbox.messages)
    assert [subject.split(" from ")[0] for subject in subjects] == [
        f"Credit note {note.number}",
        f"Invoice {invoice.number}",
    ]
    assert invoice_emails.email_missed_invoices(now=after_grace()).queued == []
    assert len(smtp_inbox.messages) == 2


def test_nobody_to_email_is_recorded_once_and_not_looked_at_again(customer, eager_celery):
    customer.account(invoice_emails=[])
    customer.ran(customer.metered(), JAN, 3)
    (pk,) = invoicing.close_billing_period(JAN).created
    invoice = invoicing.finalize_invoice(Invoice.objects.get(pk=pk))

    assert invoice_emails.email_missed_invoices(now=after_grace()).no_recipients == [invoice.number]
    invoice.refresh_from_db()
    assert (invoice.emailed_at, invoice.email_failure_code) == (None, "invoice_no_recipients")
    assert invoice_emails.email_missed_invoices(now=after_grace()).no_recipients == []


def test_an_email_the_server_refused_is_left_to_finance_not_sent_again_by_the_beat_job(
    draft,
    smtp_inbox,  # noqa: F811
    eager_celery,
    django_capture_on_commit_callbacks,
):
    invoice = invoicing.finalize_invoice(draft)
    smtp_inbox.replies = ["554 5.7.1 Message rejected"]
    refused = tasks.email_invoice.apply(args=(invoice.pk,), throw=False)
    assert isinstance(refused.result, mail.DeliveryRefused)
    invoice.refresh_from_db()
    assert (invoice.emailed_at, invoice.email_failure_code) == (None, "email_refused")
    assert "554" in invoice.email_failure_detail
    assert invoice_emails.email_missed_invoices(now=after_grace()).queued == []

    with django_capture_on_commit_callbacks(execute=True):
        invoicing.resend_invoice_email(invoice)  # finance, once the address is fixed
    assert len(smtp_inbox.messages) == 1
    invoice.refresh_from_db()
    assert invoice.emailed_at is not None and invoice.email_failure_code == ""


def test_an_email_whose_pdf_cannot_be_made_is_left_to_finance_not_queued_again(
    draft, eager_celery, monkeypatch
):
    """An invoice finalized before its account's invoice email was refused (a control
    character, which the Factur-X XML cannot carry): rendering it fails with a ValueError,
    no refusal of ours, and would at every try. It was not kept on the invoice, so the beat
    job queued the email again at every run, for ever."""
    BillingAccount.objects.filter(tenant=draft.tenant).update(
        invoice_emails=['"ap\x01"@acme.example']
    )
    with monkeypatch.context() as then:  # finalize as it was before that rule
        then.setattr(invoicing, "account_refusal", lambda account: "")
        invoice = invoicing.finalize_invoice(draft)

    failed = tasks.email_invoice.apply(args=(invoice.pk,), throw=False)

    assert isinstance(failed.result, ValueError)
    invoice.refresh_from_db()
    assert (invoice.emailed_at, invoice.email_failure_code) == (None, "document_not_rendered")
    assert invoice.email_failure_detail.startswith("ValueError: ")
    run = invoice_emails.email_missed_invoices(now=after_grace())
    assert (run.queued, run.not_queued) == ([], [])


@pytest.mark.parametrize(
    "passing", [OperationalError("connection lost"), OSError("font file busy")], ids=repr
)
def test_a_rendering_error_another_try_may_not_meet_is_not_kept_on_the_invoice(
    draft, eager_celery, monkeypatch, passing
):
    """A lost database connection or a file not read while rendering is no fault of the
    invoice: kept as document_not_rendered, the beat job would never queue it again."""
    invoice = invoicing.finalize_invoice(draft)

    def fails(invoice):
        raise passing

    monkeypatch.setattr(invoice_emails, "invoice_pdf", fails)
    failed = tasks.email_invoice.apply(args=(invoice.pk,), throw=False)

    assert failed.result is passing
    invoice.refresh_from_db()
    assert (invoice.emailed_at, invoice.email_failure_code) == (None, "")
    missed = Invoice.objects.not_emailed().past_first_charge_grace(after_grace())
    assert list(missed) == [invoice]  # what the beat job queues again


def test_the_beat_job_stops_at_a_broker_failure_and_queues_the_rest_next_time(
    draft,
    smtp_inbox,  # noqa: F811
    eager_celery,
    broker_refuses,
):
    invoice = invoicing.finalize_invoice(draft)
    note = invoicing.issue_credit_note(invoice, reason="goodwill")
    broker_refuses.everything = True
    run = invoice_emails.email_missed_invoices(now=after_grace())
    assert (run.queued, run.not_queued) == ([], [invoice.number, note.number])
    assert broker_refuses.refused == [("billing.tasks.email_invoice", (invoice.pk,))]

    broker_refuses.everything = False
    assert invoice_emails.email_missed_invoices(now=after_grace()).queued == [
        invoice.number,
        note.number,
    ]
    assert len(smtp_inbox.messages) == 2


@pytest.mark.django_db(transaction=True)
@needs_row_locks
def test_two_deliveries_at_once_send_one_email(
    draft,
    smtp_inbox,  # noqa: F811
    broker_refuses,
    monkeypatch,
):
    broker_refuses.everything = True  # the finalize's own tasks are not sent here
    invoice = invoicing.finalize_invoice(draft)
    sending, release = threading.Event(), threading.Event()
    send = mail.send_invoice_email

    def held_send(*args):
        sending.set()
        assert release.wait(60)
        return send(*args)

    monkeypatch.setattr(mail, "send_invoice_email", held_send)
    results = {}

    def deliver(name):
        try:
            results[name] = email(invoice)
        finally:
            connections.close_all()

    first = threading.Thread(target=deliver, args=("first",))
    first.start()
    try:
        assert sending.wait(60)  # the first delivery holds the invoice, sending
        second = threading.Thread(target=deliver, args=("second",))
        second.start()
        deadline = time.monotonic() + 60
        while not _waiting_for_a_row_lock():
            assert time.monotonic() < deadline, "the second delivery never waited"
    finally:
        release.set()
        first.join()
    second.join()
    assert results == {
        "first": {"invoice": invoice.number, "recipients": 1},
        "second": {"invoice": invoice.number, "not_sent": "already_emailed"},
    }
    assert len(smtp_inbox.messages) == 1


@pytest.mark.django_db(transaction=True)  # migrating (SQLite's schema editor) needs no atomic
@pytest.mark.parametrize("hours_ago", [7, 1])
def test_invoices_finalized_before_the_marker_count_as_emailed(draft, broker_refuses, hours_ago):
    """Nothing recorded whether their email went out: migration 0013 takes them as emailed
    when they were finalized, so the beat job does not mail every tenant's history again;
    but not those of the last six hours, whose email task may still be retrying (marked, it
    would find them "already emailed" and never send)."""
    broker_refuses.everything = True  # no task is sent here
    finalized = timezone.now() - timedelta(hours=hours_ago)
    with migrated_back("billing", "0012_usage_event_key_is_device_seq_start") as migrator:
        # Finalized by the release before 0013, which recorded nothing of its email. (Going
        # back with it finalized and not emailed is refused: test_going_back_before_invoice_emails.)
        migrator.old_model("Invoice").objects.filter(pk=draft.pk).update(
            status="open", number="EP-2026-000001", finalized_at=finalized
        )
        migrator.forward("0013_invoice_emailed")

    invoice = Invoice.objects.get(pk=draft.pk)
    if hours_ago > 6:
        assert invoice.emailed_at == invoice.finalized_at
        assert invoice_emails.email_missed_invoices(now=after_grace()).queued == []
    else:
        assert invoice.emailed_at is None


def _waiting_for_a_row_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


# The task runs in this process through ``Task.apply``: the code a worker runs, retries
# included (an eager retry is applied at once instead of after its backoff).


def test_the_task_retries_a_deferral_and_delivers_once(draft, smtp_inbox):  # noqa: F811
    invoice = invoicing.finalize_invoice(draft)
    smtp_inbox.replies = ["451 4.3.0 Mailbox busy, try again", "421 4.4.2 Timeout, try again"]
    result = tasks.email_invoice.apply(args=(invoice.pk,))
    assert (result.state, result.get()) == (
        "SUCCESS",
        {"invoice": invoice.number, "recipients": 1},
    )
    assert smtp_inbox.replies == []  # both deferrals were met, then the third try went through
    assert len(smtp_inbox.messages) == 1


def test_a_deferral_that_never_ends_fails_after_the_last_retry(draft, smtp_inbox, monkeypatch):  # noqa: F811
    invoice = invoicing.finalize_invoice(draft)
    monkeypatch.setattr(tasks.email_invoice, "max_retries", 2)
    smtp_inbox.replies = ["451 4.3.0 Mailbox busy"] * 5
    result = tasks.email_invoice.apply(args=(invoice.pk,))
    assert result.state == "FAILURE"
    assert isinstance(result.result, mail.DeliveryDeferred)
    assert len(smtp_inbox.replies) == 2  # the first try and two retries were deferred
    assert smtp_inbox.messages == []


def test_a_permanent_refusal_is_not_retried(draft, smtp_inbox):  # noqa: F811
    invoice = invoicing.finalize_invoice(draft)
    smtp_inbox.replies = ["554 5.7.1 Message rejected", "250 would have been accepted"]
    result = tasks.email_invoice.apply(args=(invoice.pk,))
    assert smtp_inbox.replies == ["250 would have been accepted"]
    assert smtp_inbox.messages == []
    assert result.state == "FAILURE"
    with pytest.raises(mail.DeliveryRefused, match=f"refused {invoice.number}"):
        result.get()
    assert Invoice.objects.get(pk=invoice.pk).email_failure_code == "email_refused"
