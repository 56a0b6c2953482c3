"""A line that a credit note gave back part of (late usage that lowered a volume price:
``invoicing.credit_price_drop``) reads so in finance's credit note form, and crediting it
gives back what is left, not its whole amount again."""

import re
from datetime import timedelta

import pytest

from billing import invoicing
from billing.models import Invoice, InvoiceKind, InvoiceStatus, LineKind
from tests.invoicing.conftest import FEB, JAN, make_customer, vendor_tenant  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]

VOLUME = {
    "scheme": "volume",
    "tiers": [{"up_to": 10, "unit_amount": 100}, {"up_to": None, "unit_amount": 50}],
}


def test_finance_sees_and_credits_what_is_left_of_a_line(journey, staff_user, make_customer):  # noqa: F811
    customer = make_customer()
    customer.account()
    hours = customer.metered(terms=VOLUME)
    customer.ran(hours, JAN, 10)
    (jan_id,) = invoicing.close_billing_period(JAN).created
    january = invoicing.finalize_invoice(Invoice.objects.get(pk=jan_id))
    customer.ran(hours, JAN + timedelta(days=20), 1)  # eleven hours cost 5.50, not 10.00
    (drop,) = invoicing.close_billing_period(FEB).credit_notes
    usage = january.lines.get(kind=LineKind.USAGE)

    journey.sign_in(staff_user("finance"))
    page = journey.page
    journey.goto(f"/admin/billing/invoice/{january.pk}/change/")
    credit = page.locator("#credit-form")
    # The checkboxes are one group named for what they choose, as a screen reader reads it.
    lines = credit.get_by_role("group", name="Lines to credit:")
    choice = lines.get_by_role("checkbox", name=re.compile(r"10\.00 EUR; 4\.50 EUR credited"))
    assert choice.get_attribute("value") == str(usage.pk)

    choice.check()
    credit.get_by_label("Reason:").fill("Usage disputed")
    journey.click(credit.get_by_role("button", name="Issue credit note for the chosen lines"))

    message = page.locator(".messagelist").inner_text()
    issued = re.search(r"Credit note (CN-\d{4}-\d{6}) issued \(([^)]*)\)", message)
    assert issued, message
    # 5.50 and its 19 % VAT (1.045, each note rounds its own), on January's terms.
    assert issued.group(2) == "-6.55 EUR"
    assert issued.group(1) != drop
    january.refresh_from_db()
    assert january.status == InvoiceStatus.PAID and january.amount_due == 0
    notes = Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE, credit_of=january)
    assert sorted(note.subtotal for note in notes) == [-550, -450]
    # Nothing is left to credit: the page says so, instead of a form every click of which
    # would be refused.
    journey.goto(f"/admin/billing/invoice/{january.pk}/change/")
    assert page.locator("#credit-form").count() == 0
    refusal = page.locator("#credit-refusal").inner_text()
    assert refusal == f"Every line of {january.number} is credited in full already.", refusal
    journey.check()
