"""What credit notes gave back of an invoice's lines is read in the same few queries for one
line as for all of them: the credit note form, the whole-invoice credit's confirmation and
each note read it for every line (a query a line, and more for credited lines, before)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing import invoicing
from billing.models import Invoice
from tests.invoicing.conftest import JAN


@pytest.mark.django_db
def test_a_whole_invoice_credit_reads_as_much_for_three_lines_as_for_thirteen(make_customer):
    few, many = make_customer(), make_customer()
    for customer in (few, many):
        customer.account()
        customer.ran(customer.metered(), JAN, 3)
    invoicing.close_billing_period(JAN)
    few_invoice, many_invoice = _finalized(few, 0), _finalized(many, 10)

    with CaptureQueriesContext(connection) as three:
        invoicing.whole_invoice_credits([few_invoice])
    with CaptureQueriesContext(connection) as thirteen:
        invoicing.whole_invoice_credits([many_invoice])

    assert many_invoice.lines.count() == few_invoice.lines.count() + 10
    assert len(thirteen) == len(three)


def _finalized(customer, adjustments: int) -> Invoice:
    (draft,) = Invoice.objects.filter(tenant=customer.tenant)
    for n in range(adjustments):
        invoicing.add_adjustment_line(draft, description=f"Support {n}", amount=1000 + n)
    invoice = invoicing.finalize_invoice(draft)
    first = invoice.lines.order_by("position").first()
    invoicing.issue_credit_note(invoice, line_ids=[first.pk], reason="goodwill")
    return invoice
