"""Finance opens the finance pages from the Invoice changelist in Chromium: charts drawn as
SVG on the server with their figures, payouts and exports, no console or CSP errors."""

import pytest

from tests.finance.conftest import books  # noqa: F401  (the fixture)

pytestmark = pytest.mark.browser


def test_finance_reads_charts_payouts_and_exports(journey, staff_user, books):  # noqa: F811
    journey.sign_in(staff_user("finance"))
    page = journey.page
    journey.goto("/admin/billing/invoice/")
    journey.click(page.get_by_role("link", name="Charts"))
    page.get_by_label("Period (UTC month)").fill("2026-02")
    journey.click(page.get_by_role("button", name="Show"))

    by_vendor = page.locator("#revenue-by-vendor")
    assert by_vendor.locator("svg rect").count() == 2  # vendor-one (EUR), vendor-two (USD)
    assert by_vendor.locator("svg").first.is_visible()
    text = by_vendor.inner_text()
    assert "vendor-one" in text and "71.00 EUR" in text and "13.00 USD" in text
    by_month = page.locator("#revenue-by-month")
    assert by_month.locator("figure").count() == 2  # one chart per currency
    assert "74.00 EUR" in by_month.inner_text()  # February, adjustment included
    assert page.locator("#receivables-table").is_visible()

    journey.click(page.get_by_role("link", name="Vendor payouts"))
    page.get_by_label("Period (UTC month)").fill("2026-02")
    journey.click(page.get_by_role("button", name="Show"))
    assert page.locator("tr.payout-row").count() == 2
    assert "5680" in page.locator('tr[data-vendor="vendor-one"]').inner_text()

    journey.click(page.locator("nav.finance-nav").get_by_role("link", name="Exports"))
    page.get_by_label("Period (UTC month)").fill("2026-02")
    journey.click(page.get_by_role("button", name="Show"))
    # two invoices and two credit notes (a goodwill one, and the March refund's)
    assert "4 finalized invoices" in page.locator("#exports").inner_text()
    with page.expect_download() as download:
        page.locator("#export-invoices").click()
    assert download.value.suggested_filename == "invoices-2026-02.csv"
    journey.check()
