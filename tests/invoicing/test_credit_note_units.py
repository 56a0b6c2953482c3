"""A credit note gives back what it credits in that line's unit: its lines are of kind
``credit``, and its PDF and e-invoice billed agent-hours as plain units (C62, "3 unit")."""

import pytest

from billing import invoicing
from tests.invoices.pdf_reading import NS, embedded_xml, pdf_text
from tests.invoicing.test_invoice_api import billing_member, issue  # noqa: F401

pytestmark = pytest.mark.django_db


def _units(client, invoice) -> list[str]:
    _, xml = embedded_xml(client.get(f"/api/v1/invoices/{invoice.pk}/pdf").content)
    return [quantity.get("unitCode") for quantity in xml.iter(f"{{{NS['ram']}}}BilledQuantity")]


def test_a_credit_note_gives_hours_back_in_hours(billing_member):  # noqa: F811
    client, customer = billing_member
    customer.account()
    invoice = invoicing.finalize_invoice(issue(customer))
    note = invoicing.issue_credit_note(invoice, reason="goodwill")

    assert _units(client, invoice) == ["MON", "HUR"]
    assert _units(client, note) == ["MON", "HUR"]
    assert "agent-hour" in pdf_text(client.get(f"/api/v1/invoices/{note.pk}/pdf").content)
