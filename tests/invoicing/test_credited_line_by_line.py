"""An unpaid invoice credited line by line, one credit note each, is settled by the note that
credits its last line: each note's VAT is rounded on its own lines (BR-CO-17 per document),
the invoice's on all of them, so the notes together may give back a minor unit less than it
asks, and that unit must not stay due (below any card minimum, an uncollectible invoice
would keep its tenant suspended for a cent). Each note says what it took off: the last one
the unit more than its own total (it said its total, the invoice's amount due falling by
more than the notes said)."""

import pytest

from billing import invoicing
from billing.models import Invoice, InvoiceKind, InvoiceStatus
from marketplace.pricing import format_amount
from tests.invoices.pdf_reading import pdf_text
from tests.invoicing.test_invoice_api import billing_member, issue  # noqa: F401

pytestmark = pytest.mark.django_db

INVOICES = "/admin/billing/invoice/"


def test_the_note_crediting_the_last_line_settles_what_rounding_left(
    billing_member,  # noqa: F811
    admin_session,
):
    client, customer = billing_member
    customer.account(tax_rate="19.00")
    draft = issue(customer)
    for _ in range(2):  # 10.23 at 19 %: 1.9437 of VAT each, 3.8874 together
        invoicing.add_adjustment_line(draft, description="Support hours", amount=1023)
    invoice = invoicing.finalize_invoice(draft)
    lines = list(invoice.lines.order_by("position"))
    notes_vat = sum(
        invoicing.builder.totals([(line.amount, False)], invoice.tax_rate, False).tax
        for line in lines
    )
    assert notes_vat == invoice.tax - 1  # the case: the notes give back a cent less
    finance, _ = admin_session("finance")

    for line in lines:
        finance.post(f"{INVOICES}{invoice.pk}/credit/", {"line": [line.pk], "reason": "goodwill"})

    notes = Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE, credit_of=invoice)
    assert notes.count() == len(lines)
    assert -sum(note.total for note in notes) == invoice.total - 1
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_due) == (InvoiceStatus.PAID, 0)
    assert invoice.payment_reference == f"credit note {notes.order_by('pk').last().number}"
    shown = client.get(f"/api/v1/invoices/{invoice.pk}").json()
    assert (shown["status"], shown["amount_remaining"]) == ("paid", 0)
    # Each takes off its total but the last, which takes the minor unit more that was left.
    taken_off = [-note.total for note in notes.order_by("pk")]
    taken_off[-1] += 1
    for note, amount in zip(notes.order_by("pk"), taken_off, strict=True):
        text = " ".join(pdf_text(client.get(f"/api/v1/invoices/{note.pk}/pdf").content).split())
        told = f"{format_amount(amount, 'EUR')} is taken off what invoice {invoice.number} asks."
        assert told in text, text
