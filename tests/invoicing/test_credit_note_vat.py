"""A credit note's VAT is EN 16931 BR-CO-17 of what it credits (taxable amount * rate / 100,
rounded to two decimals), computed by the same rule as an invoice's, never a share of the
invoice's rounded VAT; its PDF, its Factur-X XML and the stored figures say the same."""

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from billing import invoicing
from billing.invoice_builder import totals
from tests.invoices.pdf_reading import NS, embedded_xml, pdf_text, summation
from tests.invoicing.test_invoice_api import billing_member, issue  # noqa: F401

CENT = Decimal("0.01")
RATES = st.sampled_from(["19.00", "7.00", "10.00", "5.50", "2.10"]).map(Decimal) | st.decimals(
    min_value=0, max_value=Decimal("99.99"), places=2
)
# Small amounts often make a half cent of VAT, the case a rounding rule gets wrong.
AMOUNTS = st.integers(min_value=1, max_value=3000) | st.integers(min_value=1, max_value=10**10)
# An invoice's lines, each with whether the credit note credits it.
LINES = st.lists(st.tuples(AMOUNTS, st.booleans()), min_size=1, max_size=6)


def br_co_17(taxable_minor: int, rate: Decimal) -> Decimal:
    """BR-CO-17 as the standard words it, in major units of a two-decimal currency."""
    return (Decimal(taxable_minor) / 100 * rate / 100).quantize(CENT, rounding=ROUND_HALF_UP)


def major(minor: int) -> Decimal:
    return Decimal(minor) / 100


@given(lines=LINES, rate=RATES)
@example(lines=[(1300, False), (250, True)], rate=Decimal("19.00"))  # 0.475 of VAT
@example(lines=[(5, True), (5, True)], rate=Decimal("10.00"))  # 0.005 each
def test_a_credit_note_charges_back_br_co_17_vat_of_the_lines_it_credits(lines, rate):
    """An invoice of ``lines`` and a credit note of some of them, both through the totals the
    close and ``issue_credit_note`` store: each VAT is BR-CO-17 of its own taxable amount."""
    amounts = [amount for amount, _ in lines]
    credited = [amount for amount, chosen in lines if chosen] or amounts[:1]
    invoice = totals([(amount, False) for amount in amounts], rate, False)
    note = totals([(-amount, False) for amount in credited], rate, False)

    assert major(invoice.tax) == br_co_17(sum(amounts), rate)
    # Stored negative, printed positive: the VAT of the credited taxable amount.
    assert major(-note.tax) == br_co_17(sum(credited), rate)
    assert note.total == note.subtotal + note.tax
    # Crediting everything gives back exactly what was charged, VAT included.
    whole = totals([(-amount, False) for amount in amounts], rate, False)
    assert (whole.subtotal, whole.tax, whole.total) == (
        -invoice.subtotal,
        -invoice.tax,
        -invoice.total,
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("credited", "rate", "vat"),
    [
        (250, "19.00", "0.48"),  # 0.475: a half cent, rounded away from zero
        (1005, "19.00", "1.91"),  # 1.9095
        (5, "10.00", "0.01"),  # 0.005
        (333, "7.00", "0.23"),  # 0.2331
    ],
)
def test_a_credit_notes_pdf_and_xml_state_the_vat_of_what_it_credits(
    billing_member,  # noqa: F811
    credited,
    rate,
    vat,
):
    client, customer = billing_member
    customer.account(tax_rate=rate)
    draft = issue(customer)
    line = invoicing.add_adjustment_line(draft, description="Support hours", amount=credited)
    invoice = invoicing.finalize_invoice(draft)

    note = invoicing.issue_credit_note(invoice, line_ids=[line.pk], reason="not delivered")

    assert (note.subtotal, major(-note.tax)) == (-credited, br_co_17(credited, Decimal(rate)))
    assert f"{major(-note.tax):.2f}" == vat
    response = client.get(f"/api/v1/invoices/{note.pk}/pdf")
    assert response.status_code == 200
    _, xml = embedded_xml(response.content)
    (breakdown,) = xml.iterfind(".//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax", NS)
    assert breakdown.findtext("ram:BasisAmount", namespaces=NS) == f"{major(credited):.2f}"
    assert breakdown.findtext("ram:RateApplicablePercent", namespaces=NS) == rate
    assert breakdown.findtext("ram:CalculatedAmount", namespaces=NS) == vat
    assert summation(xml, "TaxTotalAmount") == vat
    assert summation(xml, "GrandTotalAmount") == f"{major(-note.total):.2f}"
    text = pdf_text(response.content)
    assert vat in text and f"{major(-note.total):.2f}" in text
    detail = client.get(f"/api/v1/invoices/{note.pk}").json()
    assert (detail["subtotal"], detail["tax"]) == (-credited, note.tax)
