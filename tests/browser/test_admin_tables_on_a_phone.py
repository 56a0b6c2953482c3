"""Our admin pages' tables on a phone (390 px wide): a table wider than the window scrolls in
its own box, and the page itself does not scroll sideways. Before, the vendor payouts table
(524 px) and a refund confirmation's orders (434 px) pushed the whole page sideways, its
header, breadcrumbs and buttons with it."""

import pytest

from tests.browser.test_finance_refunds_in_the_browser import _choose, orders  # noqa: F401
from tests.browser.test_portal_tables_on_a_phone import PHONE
from tests.commerce.conftest import (  # noqa: F401  (the fixtures)
    ORDERS_URL,
    agent,
    customer,
    localstripe,
    make_plan,
    published,
    stripe_client,
    stripe_on,
)
from tests.finance.conftest import books  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.browser]


def _fits_and_scrolls_in_its_box(page, table) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    box = table.locator("xpath=..")
    assert box.evaluate("e => e.scrollWidth > e.clientWidth"), "the table is not cut or scrolled"
    box.evaluate("e => { e.scrollLeft = e.scrollWidth; }")
    last = table.locator("thead th").last
    assert last.bounding_box()["x"] + last.bounding_box()["width"] <= PHONE["width"]


def test_vendor_payouts_scroll_in_their_box_on_a_phone(journey, staff_user, books):  # noqa: F811
    journey.sign_in(staff_user("finance"))
    page = journey.page
    page.set_viewport_size(PHONE)
    journey.goto("/admin/billing/finance/payouts/?period=2026-02")

    _fits_and_scrolls_in_its_box(page, page.locator("#payouts table"))


def test_a_refund_confirmation_scrolls_its_orders_in_their_box(journey, staff_user, orders):  # noqa: F811
    journey.sign_in(staff_user("finance"))
    page = journey.page
    journey.goto(ORDERS_URL)
    page.set_viewport_size(PHONE)
    _choose(journey, *orders.values())

    _fits_and_scrolls_in_its_box(page, page.locator("#refund-orders"))
