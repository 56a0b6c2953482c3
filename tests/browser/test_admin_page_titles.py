"""Our admin pages are titled for what they show, as every admin page is, with the site's name:
a browser's tabs and history tell them apart. Before, the charts page was "Finance charts"
whatever month it showed (the exports and payouts pages name theirs), and a list action's
form asking for a reference was titled without "| EdgePlug admin"."""

import pytest
from playwright.sync_api import expect

from tests.browser.test_admin_refused_action_takes_the_focus import (  # noqa: F401  (fixtures)
    draft,
    issued,
    record_offline_payment,
)
from tests.invoicing.conftest import make_customer, vendor_tenant  # noqa: F401

pytestmark = [pytest.mark.browser]


def test_the_charts_page_is_titled_for_its_month(journey, staff_user):
    journey.sign_in(staff_user("finance"))
    page = journey.page
    journey.goto("/admin/billing/finance/charts/?period=2026-01")
    expect(page).to_have_title("Finance charts for 2026-01 | EdgePlug admin")
    page.get_by_label("Period (UTC month)").fill("2026-02")
    journey.click(page.get_by_role("button", name="Show"))
    expect(page).to_have_title("Finance charts for 2026-02 | EdgePlug admin")


def test_a_reference_form_is_titled_with_the_site(journey, staff_user, issued):  # noqa: F811
    journey.sign_in(staff_user("finance"))
    record_offline_payment(journey, issued)

    expect(journey.page).to_have_title("Record an offline payment | EdgePlug admin")
