"""A credit note of an unpaid invoice lowers what it asks; while a card charge of it is
still processing (Stripe said ``processing``) that charge was made for the whole amount due,
and its success would be recorded as paying the lowered one: the customer overcharged by
what the credit note gave back. So finance's credit note waits for the outcome, as a void, a
retry and an offline payment do; a paid invoice's credit note (money owed back) does not."""

import pytest

from billing import invoicing
from billing.errors import PaymentPending
from billing.models import Invoice, InvoiceKind, InvoiceNumberSequence, InvoiceStatus
from edgeplug.audit.models import AuditEvent
from tests.dunning.conftest import DECLINED, GOOD, credit_fee, processing
from tests.invoicing.conftest import credited_in_full

pytestmark = pytest.mark.django_db


def _nothing_credited(invoice, before):
    invoice.refresh_from_db()
    assert (invoice.status, invoice.credited_amount, invoice.amount_due) == (
        before.status,
        0,
        before.amount_due,
    )
    assert not Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).exists()
    assert not InvoiceNumberSequence.objects.filter(series="CN", last__gt=0).exists()
    assert not AuditEvent.objects.filter(action="credit_note_issued").exists()


def test_finance_cannot_credit_chosen_lines_while_a_charge_is_still_processing(
    invoiced, admin_session
):
    _, invoice = invoiced(card=DECLINED)
    before = processing(invoice)
    client, _ = admin_session("finance")

    page = credit_fee(client, invoice, follow=True).content.decode()

    assert "attempt 1 is still processing" in page
    assert "Credit it (or refund the order) once the charge" in page
    assert "Credit note CN-" not in page
    _nothing_credited(invoice, before)


def test_finance_cannot_credit_in_full_while_a_charge_is_still_processing(invoiced, admin_session):
    _, invoice = invoiced(card=DECLINED)
    before = processing(invoice)
    client, _ = admin_session("finance")

    page = credited_in_full(client, invoice).content.decode()

    assert f"Invoice {invoice.number}: attempt 1 is still processing" in page
    _nothing_credited(invoice, before)
    with pytest.raises(PaymentPending) as refused:  # the action every door calls
        invoicing.issue_credit_note(invoice)
    assert (refused.value.code, refused.value.status) == ("payment_pending", 409)


def test_a_paid_invoice_is_credited_as_before(invoiced, admin_session):
    """Paid, nothing is due: its credit note is money owed back and changes nothing of it,
    so no charge outcome can be wronged by it."""
    _, invoice = invoiced(card=GOOD)
    assert invoice.status == InvoiceStatus.PAID
    client, _ = admin_session("finance")

    credited_in_full(client, invoice)

    note = Invoice.objects.get(kind=InvoiceKind.CREDIT_NOTE)
    assert note.total == -invoice.total
    invoice.refresh_from_db()
    assert (invoice.status, invoice.credited_amount) == (InvoiceStatus.PAID, 0)
