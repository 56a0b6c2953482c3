"""Finance finds orders by when they were placed and by tenant in Chromium: the orders list
has a "created at" column (UTC), a drill-down by date and a tenant filter, and still shows
every column at 1280 px. It had no date at all, and no way to narrow it to a tenant."""

from datetime import UTC, datetime

import pytest

from marketplace.models import Order
from tests.factories import OrderFactory, TenantFactory

pytestmark = [pytest.mark.browser]

URL = "/admin/marketplace/order/"


def placed(tenant, at: datetime) -> Order:
    order = OrderFactory(tenant=tenant)
    Order.objects.filter(pk=order.pk).update(created_at=at)
    return order


def test_finance_narrows_orders_to_a_tenant_and_a_month(journey, staff_user):
    globex, initech = TenantFactory(slug="globex-factory"), TenantFactory(slug="initech")
    november = placed(globex, datetime(2026, 11, 3, 9, 30, tzinfo=UTC))
    placed(globex, datetime(2026, 10, 20, 14, 0, tzinfo=UTC))
    placed(initech, datetime(2026, 11, 5, 8, 0, tzinfo=UTC))
    page = journey.page
    page.set_viewport_size({"width": 1280, "height": 800})
    journey.sign_in(staff_user("finance"))

    journey.goto(URL)
    assert journey.hidden_column_headers() == []
    row = page.locator(f'#result_list tr:has(a[href$="/{november.pk}/change/"])')
    assert " ".join(row.locator("td.field-created_at").inner_text().split()) == (
        "Nov. 3, 2026, 9:30 a.m. UTC"
    )

    journey.click(page.locator("#changelist-filter").get_by_role("link", name="globex-factory"))
    assert page.locator("#result_list tbody tr").count() == 2
    journey.click(page.locator("nav.toplinks").get_by_role("link", name="November 2026"))
    assert "created_at__month=11" in page.url and "tenant__id__exact" in page.url
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1 and rows.first.locator("th, td").nth(1).inner_text() == str(
        november.pk
    )
    assert journey.hidden_column_headers() == []
