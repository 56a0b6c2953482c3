"""The Sales page's download addresses, edited by hand or kept from an older visit, in
Chromium: a "Months shown" that is not one gets the portal's page saying which value and why
(it was Django's bare text), and a month without a payout statement says so and leads back to
Sales (it was "Page not found … another vendor")."""

import pytest

from tests.browser.test_vendor_portal_journey import portal_sign_in

pytestmark = [pytest.mark.browser]

NAV = "nav[aria-label=Portal]"


def test_a_months_shown_that_is_not_a_number_is_refused_on_the_portals_page(journey, vendor_admin):
    page = journey.page
    portal_sign_in(journey, vendor_admin)
    journey.expect_status(400, "/portal/sales.csv")  # compared without the query
    response = journey.goto("/portal/sales.csv?months=abc")

    assert response.status == 400
    assert response.headers["content-type"].startswith("text/html")
    assert page.get_by_role("heading", name="This request was refused").count() == 1
    refusal = page.get_by_role("alert").inner_text()
    said = "Months shown: Enter a whole number in the digits 0-9, such as 12."
    assert refusal == f"invalid_period: {said}"
    assert page.locator(NAV).get_by_role("link", name="Sales").is_visible()


def test_a_month_without_a_payout_statement_says_so_and_leads_back_to_sales(journey, vendor_admin):
    page = journey.page
    portal_sign_in(journey, vendor_admin)
    path = "/portal/sales/payouts/2024-02.csv"
    journey.expect_status(404, path)
    response = journey.goto(path)

    assert response.status == 404
    heading = page.get_by_role("heading", level=1)
    assert heading.inner_text() == "No payout statement for 2024-02"
    assert (
        "no sales and no refunds on finalized invoices that month"
        in page.locator("main").inner_text()
    )
    assert "another vendor" not in page.locator("main").inner_text()

    journey.click(page.get_by_role("link", name="Back to Sales"))
    assert page.url == journey.base_url + "/portal/sales/"
