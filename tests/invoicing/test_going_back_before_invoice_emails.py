"""Migrating billing back before invoices recorded their email (0013_invoice_emailed): forward
again takes every invoice finalized over six hours before as emailed, so an issued invoice or
credit note whose email failed or has not gone out yet stops the way back, named, nothing
changed (else its customer would never get it); with every issued one emailed, billing goes back
and forward again and no email is sent twice."""

from datetime import datetime, timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from billing import invoice_emails, invoicing, money_back
from billing.models import Invoice
from tests.invoicing.conftest import APR, FEB, JAN, MAR
from tests.migrations import column_names, migrated_back, refusal_going_back

pytestmark = pytest.mark.django_db(transaction=True)  # migrating (SQLite) needs no atomic

BEFORE_EMAILS = "0012_usage_event_key_is_device_seq_start"


def issued(customer, month: datetime, *, hours_ago: int = 48) -> Invoice:
    """The month's invoice (three agent-hours), finalized ``hours_ago``, its email not sent."""
    customer.ran(customer.plan, month, 3)
    (pk,) = invoicing.close_billing_period(month).created
    finalized = timezone.now() - timedelta(hours=hours_ago)
    return invoicing.finalize_invoice(Invoice.objects.get(pk=pk), now=finalized)


def emailed(invoice: Invoice) -> None:
    """As the email task records a sent email."""
    Invoice.objects.filter(pk=invoice.pk).update(
        emailed_at=F("finalized_at") + timedelta(minutes=1)
    )


def email_state() -> dict[int, tuple]:
    return {
        pk: (emailed_at, code, detail)
        for pk, emailed_at, code, detail in Invoice.objects.values_list(
            "pk", "emailed_at", "email_failure_code", "email_failure_detail"
        )
    }


def test_an_invoice_not_emailed_stops_the_way_back_named_and_its_email_state_is_kept(billed):
    """Forward again, the old 0013 marked the refused email's invoice emailed (finalized two
    days before) and forgot its failure: finance would never resend it."""
    refused = issued(billed, JAN)
    Invoice.objects.filter(pk=refused.pk).update(
        email_failure_code="email_refused", email_failure_detail="554 5.7.1 Message rejected"
    )
    pending = issued(billed, FEB, hours_ago=1)  # its task still retrying, or lost
    sent = issued(billed, MAR)
    emailed(sent)
    # Paid, so that its credit note gives money back and leaves no credited amount (which
    # billing 0014 would refuse to go back past before 0013 is reached).
    Invoice.objects.filter(pk=sent.pk).update(status="paid", paid_at=F("finalized_at"))
    note = invoicing.issue_credit_note(sent, reason="goodwill")  # its own email not sent yet
    # Its money paid back (billing 0016 refuses to go back past a note still owing it).
    money_back.record_money_paid_back(note, reference="SEPA back")
    void = issued(billed, APR)
    invoicing.void_invoice(void, reason="issued to the wrong entity")  # never emailed
    before = email_state()

    refusal = refusal_going_back("billing", BEFORE_EMAILS)

    assert email_state() == before
    assert refusal is not None, "billing went back before 0013 and forward again"
    assert "3 invoice(s) or credit note(s) issued and not void have not been emailed: " in refusal
    assert f"{refused.number} (email_refused); {pending.number} (not sent yet); " in refusal
    assert f"{note.number} (not sent yet)" in refusal
    assert sent.number not in refusal and void.number not in refusal
    assert "its customer would never get it" in refusal
    assert "emailed_at" in column_names("billing_invoice")


def test_with_every_issued_invoice_emailed_billing_goes_back_and_forward_sending_none_again(
    billed,
):
    sent = issued(billed, JAN)
    emailed(sent)
    void = issued(billed, FEB)
    invoicing.void_invoice(void, reason="issued to the wrong entity")
    (draft,) = invoicing.close_billing_period(MAR).created

    with migrated_back("billing", BEFORE_EMAILS):
        columns_at_0012 = column_names("billing_invoice")

    assert not {"emailed_at", "email_failure_code", "email_failure_detail"} & columns_at_0012
    assert email_state() == {
        sent.pk: (sent.finalized_at, "", ""),  # emailed, as when it was finalized
        void.pk: (void.finalized_at, "", ""),  # taken as emailed: a void one is never sent
        draft: (None, "", ""),
    }
    missed = invoice_emails.email_missed_invoices(now=timezone.now() + timedelta(minutes=16))
    assert (missed.queued, missed.not_queued, missed.no_recipients) == ([], [], [])
