"""A credit note's line says which invoice it credits and what: "Credit for EP-…: " and the
credited line's description. When the two no longer fit the line (an adjustment described in
all the 300 characters it may have), the description is shortened visibly, ending in "…";
it was cut at 300 with no mark, so the note read as if that was all the line said."""

import pytest

from billing import invoicing
from billing.invoice_builder import DESCRIPTION_MAX
from billing.invoice_documents import invoice_document
from billing.models import InvoiceKind, LineKind

pytestmark = pytest.mark.django_db


def _credit_of_adjustment(draft, description: str) -> tuple[str, str]:
    """(the invoice's number, the description its credit note prints) for an adjustment of
    ``description`` credited on its own."""
    invoicing.add_adjustment_line(draft, description=description, amount=500)
    invoice = invoicing.finalize_invoice(draft)
    adjustment = invoice.lines.get(kind=LineKind.ADJUSTMENT)
    assert invoice_document(invoice).lines[-1].description == description  # all of it
    note = invoicing.issue_credit_note(invoice, line_ids=[adjustment.pk])
    assert note.kind == InvoiceKind.CREDIT_NOTE
    return invoice.number, invoice_document(note).lines[0].description


def test_a_credited_description_that_fits_is_printed_whole(draft):
    number, printed = _credit_of_adjustment(draft, "Goodwill for the outage of 3 March")
    assert printed == f"Credit for {number}: Goodwill for the outage of 3 March"


def test_a_credited_description_that_does_not_fit_is_shortened_visibly(draft):
    description = ("Goodwill for the outage of 3 March; see ticket 4711. " * 6)[:DESCRIPTION_MAX]
    number, printed = _credit_of_adjustment(draft, description.rstrip())

    assert len(printed) <= DESCRIPTION_MAX
    assert printed.endswith("…"), printed[-40:]
    prefix = f"Credit for {number}: "
    assert printed.startswith(prefix)
    assert description.startswith(printed[len(prefix) : -1])
