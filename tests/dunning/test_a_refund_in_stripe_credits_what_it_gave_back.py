"""A refund made in Stripe's dashboard is booked as a credit note (billing.taken_back,
``invoicing.credit_money_taken_back``) that credits what the refund gave back, tax included:
its total is its ``refund_amount``, on finance's invoices CSV and on its PDF.

The defect this covers: each line's share was rounded down before the note's VAT was rounded
on what was left, so 3.33 refunded of a 14.28 EUR invoice booked a note of 3.32 recording 3.33
given back (and the note crediting the rest was off the other way); and a dinar invoice
refunded in full in Stripe (all it took: its total rounded down to what a card is charged)
was credited less than its total, so finance could credit it again, paying back nothing."""

import pytest

from tests.dunning.conftest import GOOD, TOTAL
from tests.dunning.test_money_taken_back_in_stripe import notes_of, refunded_in_dashboard
from tests.dunning.test_three_decimal_invoice_is_charged_rounded import (  # noqa: F401
    WITH_FEE,
    kwd_invoice,
)
from tests.finance.test_finance_exports import EXPORTS, read_csv
from tests.invoicing.conftest import credited_in_full

pytestmark = pytest.mark.django_db


def exported(finance, invoice) -> list[tuple[str, str]]:
    """(total, refund) of ``invoice``'s credit notes on finance's invoices CSV, oldest first."""
    rows = {
        row["number"]: row
        for row in read_csv(finance.get(f"{EXPORTS}invoices.csv", {"period": "2026-01"}))
    }
    return [
        (rows[n.number]["total"], rows[n.number]["refund"])
        for n in sorted(notes_of(invoice), key=lambda n: n.pk)
    ]


@pytest.mark.parametrize("amount", [333, 1001])  # of 14.28 EUR, 19 % VAT
def test_a_partial_refund_in_stripe_is_credited_exactly(
    invoiced, committed, api, admin_session, amount
):
    _, invoice = invoiced(card=GOOD)

    refunded_in_dashboard(api, committed, invoice, "evt_part", amount=amount)

    (note,) = notes_of(invoice)
    assert (note.total, note.refund_amount) == (-amount, amount)
    finance, _ = admin_session("finance")
    given = f"{amount / 100:.2f}"
    assert exported(finance, invoice) == [(f"-{given}", given)]
    # Finance credits the rest: that note too credits what it pays back, the two all of it.
    committed(credited_in_full, finance, invoice)
    rest = f"{(TOTAL - amount) / 100:.2f}"
    assert exported(finance, invoice) == [(f"-{given}", given), (f"-{rest}", rest)]


def test_a_refund_no_note_can_total_is_credited_a_cent_short_never_more(
    invoiced, committed, api, admin_session
):
    """A note's VAT is rounded on its subtotal: 2.81 before tax comes to 3.34, 2.82 to 3.36.
    A refund of 3.35 is credited 3.34, and the note of the rest credits the cent it missed."""
    _, invoice = invoiced(card=GOOD)

    refunded_in_dashboard(api, committed, invoice, "evt_part", amount=335)

    finance, _ = admin_session("finance")
    committed(credited_in_full, finance, invoice)
    assert exported(finance, invoice) == [("-3.34", "3.35"), ("-10.94", "10.93")]


def test_a_dinar_invoice_refunded_in_full_in_stripe_is_credited_no_more(
    kwd_invoice,  # noqa: F811
    committed,
    api,
    admin_session,
):
    """1.409 KWD, of which the card was charged 1.400 (Stripe takes multiples of 10 fils):
    refunding those 1.400 gives back all the invoice took, so its note credits all of it."""
    _, invoice = kwd_invoice(WITH_FEE)
    assert (invoice.status, invoice.total, invoice.amount_due) == ("paid", 1409, 1400)

    refunded_in_dashboard(api, committed, invoice, "evt_all")

    finance, _ = admin_session("finance")
    assert exported(finance, invoice) == [("-1.409", "1.400")]
    page = committed(credited_in_full, finance, invoice)
    assert "credited in full already" in " ".join(str(m) for m in page.context["messages"])
    assert len(notes_of(invoice)) == 1


def test_a_partial_dinar_refund_in_stripe_is_credited_exactly(
    kwd_invoice,  # noqa: F811
    committed,
    api,
    admin_session,
):
    _, invoice = kwd_invoice(WITH_FEE)

    refunded_in_dashboard(api, committed, invoice, "evt_half", amount=700)

    finance, _ = admin_session("finance")
    assert exported(finance, invoice) == [("-0.700", "0.700")]
    # The note of the rest credits what is left (0.709) and pays back what the card has left.
    committed(credited_in_full, finance, invoice)
    assert exported(finance, invoice) == [("-0.700", "0.700"), ("-0.709", "0.700")]
