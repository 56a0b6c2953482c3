"""Finance's forms on an invoice page keep what was typed when the action is refused, in
Chromium: the change page comes back with the refusal and the form as it was sent (an
adjustment's description and amount, a credit note's reason and chosen lines; a void's
reason likewise, by the same code). Before, every field came back empty. The credit form
shows its lines' amounts in the currency (it showed minor units: "(1000)" for 10.00 EUR)."""

import re
from datetime import timedelta

import pytest

from billing import invoicing
from billing.models import Invoice, InvoiceKind
from tests.invoicing.conftest import JAN, make_customer, vendor_tenant  # noqa: F401

pytestmark = [pytest.mark.browser]

URL = "/admin/billing/invoice/"


def _refusal(page) -> str:
    return page.locator(".messagelist .error").inner_text()


@pytest.fixture
def draft(make_customer):  # noqa: F811
    acme = make_customer()
    acme.account()
    acme.ran(acme.metered(), JAN + timedelta(days=2), 3)
    invoicing.close_billing_period(JAN)
    return Invoice.objects.get(tenant=acme.tenant, period_start=JAN)


def test_a_refused_adjustment_keeps_its_description_and_amount(journey, staff_user, draft):
    journey.sign_in(staff_user("finance"))
    page = journey.page
    journey.goto(f"{URL}{draft.pk}/change/")
    adjust = page.locator("#adjust-form")
    adjust.get_by_label("Description:").fill("Onboarding workshop, two days")
    adjust.get_by_label(re.compile(r"^Amount \(EUR")).fill(f"-{draft.total}.00")  # below zero

    journey.click(adjust.get_by_role("button", name="Add line"))

    assert "below zero" in _refusal(page)
    adjust = page.locator("#adjust-form")
    assert adjust.get_by_label("Description:").input_value() == "Onboarding workshop, two days"
    assert adjust.get_by_label(re.compile(r"^Amount \(EUR")).input_value() == f"-{draft.total}.00"
    journey.goto(f"{URL}{draft.pk}/change/")  # kept for the page that showed the refusal only
    assert page.locator("#adjust-form").get_by_label("Description:").input_value() == ""


def test_a_refused_credit_note_keeps_its_reason_and_lines(journey, staff_user, draft):
    issued = invoicing.finalize_invoice(draft)
    first, *_ = issued.lines.order_by("position")
    invoicing.issue_credit_note(issued, line_ids=[first.pk], reason="fee waived")
    journey.sign_in(staff_user("finance"))
    page = journey.page
    journey.goto(f"{URL}{issued.pk}/change/")
    credit = page.locator("#credit-form")
    amount = f"{first.amount / 100:.2f} EUR"  # credited already: the form says so
    assert f"{first.description} ({amount}; {amount} credited already)" in credit.inner_text()

    credit.get_by_label(first.description, exact=False).check()
    credit.get_by_label("Reason:").fill("Customer complaint about the January fee")
    journey.click(credit.get_by_role("button", name="Issue credit note for the chosen lines"))

    assert "credited in full already" in _refusal(page)
    credit = page.locator("#credit-form")
    assert (
        credit.get_by_label("Reason:").input_value() == "Customer complaint about the January fee"
    )
    assert credit.get_by_label(first.description, exact=False).is_checked()
    assert Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).count() == 1
