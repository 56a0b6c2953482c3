"""Migrating billing back before credited amounts (0014_invoice_credited_amount): the code
from before it would charge an unpaid invoice what its credit notes gave back, and forward
again would not find what was credited of one settled since. So an invoice holding a
credited amount stops the way back, named, nothing changed; without one, billing goes back
and forward again."""

import pytest

from billing import invoicing
from billing.models import Invoice
from tests.invoicing.conftest import JAN
from tests.migrations import column_names, refusal_going_back

pytestmark = pytest.mark.django_db(transaction=True)  # migrating (SQLite) needs no atomic

BEFORE_CREDITED = "0013_invoice_emailed"


def issued(customer) -> Invoice:
    customer.ran(customer.plan, JAN, 3)
    (pk,) = invoicing.close_billing_period(JAN).created
    return invoicing.finalize_invoice(Invoice.objects.get(pk=pk))


def test_an_invoice_holding_a_credited_amount_stops_the_way_back_named(billed):
    invoice = issued(billed)
    fee = invoice.lines.order_by("position").first()
    invoicing.issue_credit_note(invoice, line_ids=[fee.pk], reason="fee waived")
    invoice.refresh_from_db()
    assert invoice.is_unpaid and invoice.credited_amount > 0

    message = refusal_going_back("billing", BEFORE_CREDITED) or ""

    assert f"{invoice.number} ({invoice.status}, {invoice.credited_amount} of its " in message
    assert "credited_amount" in column_names("billing_invoice")
    assert Invoice.objects.get(pk=invoice.pk).credited_amount == invoice.credited_amount


def test_without_credited_amounts_billing_goes_back_and_forward_again(billed):
    invoice = issued(billed)

    assert refusal_going_back("billing", BEFORE_CREDITED) is None
    assert Invoice.objects.get(pk=invoice.pk).amount_due == invoice.amount_due
