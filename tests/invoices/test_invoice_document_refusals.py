"""A document whose figures do not add up is refused before anything is rendered, with a
message naming what is wrong; the JSON form a task carries reads back to the same document."""

from dataclasses import fields, replace
from decimal import Decimal

import pytest

from billing.documents import render_html
from billing.documents.document import DocumentLine, InvoiceDocument, check_document, from_dict
from billing.documents.errors import InvalidInvoiceDocument
from billing.documents.rendering import credit_mention
from tests.invoices.documents import SELLER, invoice


def test_the_json_form_reads_back_to_the_same_document():
    doc = invoice(currency="JPY", reverse_charge=True, paid=True)
    assert from_dict(doc.as_dict()) == doc
    credited = invoice(credited=1000)
    assert from_dict(credited.as_dict()) == credited
    assert credited.amount_due == credited.total - 1000
    # Paid before it more than it totals (an order, then finance's negative adjustment):
    # nothing to credit, and still a document.
    overpaid = invoice()
    check_document(replace(overpaid, prepaid=overpaid.total + 300))


@pytest.mark.parametrize(
    "changes",
    [
        {"money_back": 931, "money_back_to_card": True},
        {"money_back": 931},
        {"taken_off": 1428},
    ],
    ids=["refunded-to-card", "paid-back-by-transfer", "taken-off"],
)
def test_a_credit_notes_json_form_reads_back_what_it_says_of_the_money(changes):
    """as_dict left out ``taken_off``, ``money_back`` and ``money_back_to_card``: the note read
    back said nothing of where its money goes (docs/invoices.md: from_dict reads as_dict's
    form back)."""
    note = invoice(kind="credit_note", number="EP-CN-2026-000003", credit_of="EP-2026-000042")
    note = replace(note, **changes)

    again = from_dict(note.as_dict())

    assert again == note
    assert credit_mention(again) == credit_mention(note) != ""


def test_the_json_form_holds_every_field_of_the_document():
    assert set(invoice().as_dict()) == {field.name for field in fields(InvoiceDocument)}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (lambda d: {"subtotal": d.subtotal + 1, "total": d.total + 1}, "not the sum of the lines"),
        (lambda d: {"tax": d.tax + 1, "total": d.total + 1}, "rounded half-up"),
        (lambda d: {"total": d.total - 1}, "subtotal plus the tax"),
        (lambda d: {"kind": "quote"}, "kind must be one of"),
        (lambda d: {"number": " "}, "needs its number"),
        (lambda d: {"currency": "XYZ"}, "Unknown currency"),
        (lambda d: {"kind": "credit_note"}, "names the invoice it credits"),
        (lambda d: {"lines": (), "subtotal": 0, "tax": 0, "total": 0}, "at least one line"),
        (lambda d: {"period_end": d.period_start.replace(day=1, month=6)}, "starts after"),
        (lambda d: {"due_date": d.issue_date.replace(day=1)}, "before the issue date"),
        (lambda d: {"seller": replace(SELLER, tax_id="")}, "seller's VAT number"),
        (lambda d: {"seller": replace(SELLER, country="France")}, "alpha-2"),
        (lambda d: {"tax_rate": Decimal(100)}, "percentage"),
        (lambda d: {"rounding": -1}, "rounding -1 is not between 0 and -0 minor units of EUR"),
        (lambda d: {"credited": -1}, "credited amount -1 is not between 0 and"),
        (
            lambda d: {"credited": d.total + 1},
            r"credited amount \d+ is not between 0 and \d+ \(what the invoice asked\)",
        ),
        (
            lambda d: {"kind": "credit_note", "credit_of": "INV-1", "credited": 1},
            "not between 0 and 0 \\(what the credit note asked\\)",
        ),
    ],
)
def test_a_document_that_does_not_add_up_is_refused(changes, message):
    doc = invoice()
    with pytest.raises(InvalidInvoiceDocument, match=message):
        render_html(replace(doc, **changes(doc)))


def test_a_line_in_an_unknown_unit_is_refused():
    doc = invoice()
    odd = DocumentLine("Widgets", Decimal(2), "furlong", Decimal(5), 10)
    with pytest.raises(InvalidInvoiceDocument, match="Unknown unit 'furlong'"):
        check_document(replace(doc, lines=(*doc.lines, odd)))


def test_a_negative_total_is_refused_as_a_job_for_a_credit_note():
    doc = invoice()
    refund = DocumentLine("Credit", Decimal(1), "unit", Decimal(-10000), -10000)
    lines = (*doc.lines, refund)
    subtotal = sum(line.amount for line in lines)
    with pytest.raises(InvalidInvoiceDocument, match="credit note"):
        check_document(replace(doc, lines=lines, subtotal=subtotal, tax=-794, total=subtotal - 794))


def test_a_credit_line_that_leaves_the_total_positive_is_fine():
    doc = invoice()
    credit = DocumentLine("Goodwill credit", Decimal(1), "unit", Decimal(-1000), -1000)
    lines = (*doc.lines, credit)
    subtotal = sum(line.amount for line in lines)  # 5028
    check_document(replace(doc, lines=lines, subtotal=subtotal, tax=1006, total=subtotal + 1006))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda data: data.pop("number"), "no 'number'"),
        (lambda data: data.update(tax_rate=20.0), "not a float"),
        (lambda data: data.update(total="7234"), "integer amount"),
        (lambda data: data.update(issue_date="4 August"), "malformed"),
    ],
)
def test_a_malformed_json_form_is_refused(mutate, message):
    data = invoice().as_dict()
    mutate(data)
    with pytest.raises(InvalidInvoiceDocument, match=message):
        from_dict(data)


def test_a_dinar_document_rounds_its_amount_due_by_less_than_ten_fils_and_reads_back():
    doc = invoice(currency="KWD", rounding=-9)
    assert doc.amount_due == doc.total - 9
    assert from_dict(doc.as_dict()) == doc
    for refused in (-10, 1):
        with pytest.raises(InvalidInvoiceDocument, match="not between 0 and -9 minor units"):
            check_document(replace(doc, rounding=refused))
