"""A payout statement's address with a month that is not one (typed, or edited from the Sales
page's link, or holding %00), in Chromium: the portal's own page, in its frame, says why
(invalid_period, the API's sentence; nul_character) with a 400 and a way back. Before, the
browser showed the API's JSON (Django's bare text for %00)."""

import pytest

from tests.browser.test_vendor_portal_journey import portal_sign_in

pytestmark = [pytest.mark.browser]

NAV = "nav[aria-label=Portal]"


MALFORMED = "invalid_period: period must be a calendar month written YYYY-MM"


@pytest.mark.parametrize(
    ("period", "said"),
    [
        ("2026-13", MALFORMED),
        ("march", MALFORMED),
        # Refused before anything reads the address; it was Django's bare text, out of the
        # portal's frame.
        ("2026-01%00", "nul_character: The URL may not contain the NUL character (%00)."),
    ],
)
def test_a_malformed_statement_month_gets_the_portals_page_saying_why(
    journey, vendor_admin, period, said
):
    page = journey.page
    portal_sign_in(journey, vendor_admin)
    path = f"/portal/sales/payouts/{period}.csv"
    journey.expect_status(400, path)
    response = journey.goto(path)

    assert response.status == 400
    assert response.headers["content-type"].startswith("text/html")
    assert page.get_by_role("heading", name="This request was refused").count() == 1
    assert page.get_by_role("alert").inner_text().startswith(said)
    assert page.locator(NAV).get_by_role("link", name="Sales").is_visible()

    journey.click(page.get_by_role("link", name="Back to the portal"))
    assert page.url == journey.base_url + "/portal/"
