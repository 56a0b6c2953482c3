"""Finance moves between its pages (Exports, Vendor payouts, Charts) with the month it chose,
in Chromium: the nav's links carry the period. Before, each page opened on the default
month again and finance had to choose it anew."""

import pytest

pytestmark = [pytest.mark.browser]


def test_the_finance_nav_keeps_the_chosen_period(journey, staff_user):
    journey.sign_in(staff_user("finance"))
    page = journey.page
    journey.goto("/admin/billing/finance/exports/?period=2025-11")

    for name in ("Vendor payouts", "Charts", "Exports"):
        journey.click(page.locator("nav.finance-nav").get_by_role("link", name=name))
        assert page.get_by_label("Period (UTC month)").input_value() == "2025-11", name
        assert "period=2025-11" in page.url


def test_the_invoice_list_opens_the_finance_pages_on_its_period(journey, staff_user):
    """The list filtered by 2026-12 linked Exports, Vendor payouts and Charts without it: each
    opened on the default month."""
    journey.sign_in(staff_user("finance"))
    page = journey.page

    for name in ("Exports", "Vendor payouts", "Charts"):
        journey.goto("/admin/billing/invoice/?period=2026-12")
        journey.click(page.locator("ul.object-tools").get_by_role("link", name=name))
        assert page.get_by_label("Period (UTC month)").input_value() == "2026-12", name
        assert page.url.endswith("?period=2026-12"), page.url


def test_a_month_without_invoices_is_shown_chosen_on_the_invoice_list(journey, staff_user):
    """The finance pages' links open the list on their month; for a month with none it showed
    "All" chosen over 0 invoices, which reads as no invoices at all."""
    journey.sign_in(staff_user("finance"))
    page = journey.page
    journey.goto("/admin/billing/invoice/?period=2025-10")

    by_period = page.locator('#changelist-filter details[data-filter-title="period"]')
    assert by_period.locator("li.selected").inner_text() == "2025-10 (no invoices)"
    assert "0 invoices" in page.locator("#changelist").inner_text()


def test_a_status_typed_in_another_case_is_said_and_left_out(journey, staff_user):
    """?status=OPEN (a typed or edited address) listed 0 invoices with no word, which reads
    as no open invoices; it is left out and said, as a period that is not one is."""
    journey.sign_in(staff_user("finance"))
    page = journey.page
    journey.goto("/admin/billing/invoice/?status=OPEN")

    assert page.locator("ul.messagelist li.warning").inner_text() == (
        "Status filter ignored: 'OPEN' is not one of draft, open, paid, payment_failed, "
        "uncollectible, void."
    )
    by_status = page.locator('#changelist-filter details[data-filter-title="status"]')
    assert by_status.locator("li.selected").inner_text() == "All"
