"""A refused action on an object's admin page, used from the keyboard: the page comes back with
the refusal in the refused form, and the keyboard focus on what to correct, read with the
refusal (a blank reason: the reason box, marked in error and described by it; a refusal about
no field: the refusal itself). Before, the focus was back at the top of the page, the
refusal was only the message there, and the form far below said nothing, its field unmarked."""

import re

import pytest
from playwright.sync_api import expect

from billing import invoicing
from tests.browser.runs import passed_run
from tests.browser.test_finance_refusals_keep_input import draft  # noqa: F401  (fixture)
from tests.browser.test_portal_refused_field_is_focused_and_described import _tab_to
from tests.factories import MembershipFactory
from tests.invoicing.conftest import make_customer, vendor_tenant  # noqa: F401

pytestmark = pytest.mark.browser

RUNS = "/admin/certification/certificationrun/"
INVOICES = "/admin/billing/invoice/"


def _send_by_keyboard(journey, field: str, typed: str, button: str) -> None:
    """Tab to ``field``, type ``typed``, Tab on to the button ``button`` and press Space."""
    page = journey.page
    _tab_to(page, field)
    page.keyboard.type(typed)
    for _ in range(5):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == button:
            break
    with page.expect_navigation():
        page.keyboard.press("Space")
    journey.check()


def test_a_blank_reason_focuses_the_reason_box_read_with_its_refusal(journey, staff_user):
    run = passed_run()
    journey.sign_in(staff_user("reviewers"))
    journey.goto(f"{RUNS}{run.pk}/change/")

    _send_by_keyboard(journey, "reason", "   ", "Reject")

    reason = journey.page.get_by_label("Reason (required, shown to the vendor):")
    expect(reason).to_be_focused()
    expect(reason).to_have_attribute("aria-invalid", "true")
    expect(reason).to_have_accessible_description("A decision needs a reason.")
    expect(reason).to_have_value(re.compile(r"^\s+$"))
    expect(journey.page.locator("#decision-form .edgeplug-refusal")).to_be_in_viewport()


def test_a_decision_refused_for_the_tenant_focuses_why(journey, staff_user):
    reviewer = staff_user("reviewers")
    run = passed_run()
    journey.sign_in(reviewer)
    journey.goto(f"{RUNS}{run.pk}/change/")
    MembershipFactory(user=reviewer, tenant=run.tenant, role="developer")

    _send_by_keyboard(journey, "reason", "All stages pass.", "Approve")

    expect(journey.page.locator("#decide-refusal")).to_be_focused()


@pytest.fixture
def issued(draft):  # noqa: F811
    return invoicing.finalize_invoice(draft)


def test_a_void_without_a_reason_focuses_the_reason(journey, staff_user, issued):
    journey.sign_in(staff_user("finance"))
    journey.goto(f"{INVOICES}{issued.pk}/change/")

    _send_by_keyboard(journey, "reason", "", "Void this unpaid invoice")

    reason = journey.page.locator("#void-form").get_by_label("Reason:")
    expect(reason).to_be_focused()
    expect(reason).to_have_attribute("aria-invalid", "true")
    expect(reason).to_have_accessible_description("A decision needs a reason.")


def test_an_adjustment_refused_for_its_amount_focuses_the_amount(journey, staff_user, draft):  # noqa: F811
    """The adjustment's refusals (invalid_adjustment) name the field they are about, as the
    reason's do: before, the refusal was focused and the amount left unmarked."""
    journey.sign_in(staff_user("finance"))
    journey.goto(f"{INVOICES}{draft.pk}/change/")
    page = journey.page
    page.locator("#id_adjust_description").fill("Goodwill discount")

    _send_by_keyboard(journey, "amount", "-12.505", "Add line")

    amount = page.get_by_label(re.compile(r"^Amount \("))
    expect(amount).to_be_focused()
    expect(amount).to_have_attribute("aria-invalid", "true")
    expect(amount).to_have_accessible_description(re.compile(r"^The amount .*e\.g\. -12\.50\.$"))
    expect(amount).to_have_value("-12.505")
    expect(page.locator("#id_adjust_description")).to_have_value("Goodwill discount")
    assert not draft.lines.filter(kind="adjustment").exists()


def record_offline_payment(journey, invoice) -> None:
    """From the invoice list: tick ``invoice``, choose "Record an offline payment", Go: the
    form asking for the payment's reference."""
    page = journey.page
    journey.goto(INVOICES)
    page.locator(f'input[name="_selected_action"][value="{invoice.pk}"]').check()
    page.locator('select[name="action"]').select_option("record_offline_payment")
    journey.click(page.get_by_role("button", name="Go"))


def test_a_blank_reference_focuses_the_reference_read_with_its_error_and_help(
    journey, staff_user, issued
):
    """The list action's form asking for a payment's reference: its help was not read with
    the field either (aria-describedby named an id no element had)."""
    journey.sign_in(staff_user("finance"))
    page = journey.page
    record_offline_payment(journey, issued)

    _send_by_keyboard(journey, "reference", "   ", "Record payment")

    reference = page.get_by_label("Payment reference:")
    expect(reference).to_be_focused()
    expect(reference).to_have_attribute("aria-invalid", "true")
    expect(reference).to_have_accessible_description(
        re.compile(r"^As on the bank statement.*This field is required\.$")
    )
