"""The portal in a person's words, in Chromium: agent-hours on the sales page as a person
reads them (not a Decimal's six places), and a sign-in without the authenticator code
asked for in the page's words (not the API's field name)."""

from pathlib import Path

import pytest
from django.utils import timezone

from billing.models import UsageHour
from marketplace.plans import create_plan
from tests.browser.test_vendor_portal_journey import portal_sign_in
from tests.factories import (
    PASSWORD,
    AgentFactory,
    AgentVersionFactory,
    DeviceFactory,
    EntitlementFactory,
    OrderFactory,
    TenantFactory,
    finalized_sale,
    usage_hours,
)

pytestmark = [pytest.mark.browser]


def test_sales_page_shows_agent_hours_as_a_person_reads_them(journey, vendor_admin):
    tenant = vendor_admin.memberships.get().tenant
    month = timezone.now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    customer = TenantFactory(name="Factory One")

    # A one-time sale and no usage: zero agent-hours.
    sold = AgentFactory(tenant=tenant, name="pump-anomaly")
    AgentVersionFactory(agent=sold, version="1.0.0", public=True)
    plan = create_plan(sold, key="pro", name="Pro", kind="one_time", currency="EUR", amount=4900)
    order = OrderFactory(tenant=customer, plan=plan, currency="EUR", amount=4900)
    finalized_sale(customer, EntitlementFactory(order=order), month, amount=10_000)

    # Twelve and a half hours run, and 150 hours run.
    device = DeviceFactory(tenant=customer)
    half = AgentFactory(tenant=tenant, name="belt-monitor")
    whole = AgentFactory(tenant=tenant, name="valve-watch")
    UsageHour.objects.bulk_create(
        usage_hours(device, half, month, 12)
        + usage_hours(device, half, month.replace(hour=12), 1, seconds=1800)
        + usage_hours(device, whole, month, 150)
    )

    page = journey.page
    portal_sign_in(journey, vendor_admin)
    journey.click(page.get_by_role("link", name="Sales"))
    page.wait_for_selector("body[data-charts-drawn=true]", timeout=10_000)

    table = page.locator("#sales-table")
    shown = {}
    for row in table.locator("tbody tr").all():
        cells = row.locator("td").all_inner_texts()
        shown[cells[1]] = cells[2]
    assert shown == {"belt-monitor": "12.5", "pump-anomaly": "0", "valve-watch": "150"}
    assert "0.000000" not in page.locator("main").inner_text()


def test_sign_in_without_the_code_asks_for_it_in_the_pages_words(journey, vendor_admin):
    page = journey.page
    journey.goto("/portal/sign-in/")
    page.get_by_label("Email").fill(vendor_admin.email)
    page.get_by_label("Password").fill(PASSWORD)
    journey.expect_status(401, "/portal/sign-in/")
    journey.click(page.get_by_role("button", name="Sign in"))

    alert = page.locator(".refusal").inner_text()
    assert "Enter the current code from your authenticator app." in alert
    assert "TOTP" not in alert and "`otp`" not in alert
    assert "/portal/sign-in/" in page.url
    # ... and at the code's field, which it marks.
    code = page.get_by_label("Authentication code")
    assert code.get_attribute("aria-invalid") == "true"


def test_sales_csv_downloads_with_months_shown_cleared(journey, vendor_admin):
    """A person clears "Months shown" and presses Show: the page shows the default twelve
    months, agents A to Z within the month, and its Download CSV link gives them."""
    tenant = vendor_admin.memberships.get().tenant
    month = timezone.now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    device = DeviceFactory(tenant=TenantFactory(name="Factory One"))
    for name in ("valve-watch", "belt-monitor"):
        UsageHour.objects.bulk_create(
            usage_hours(device, AgentFactory(tenant=tenant, name=name), month, 2)
        )

    page = journey.page
    portal_sign_in(journey, vendor_admin)
    journey.click(page.get_by_role("link", name="Sales"))
    page.get_by_label("Months shown").fill("")
    journey.click(page.get_by_role("button", name="Show"))
    page.wait_for_selector("body[data-charts-drawn=true]", timeout=10_000)
    agents = page.locator("#sales-table tbody tr td:nth-child(2)").all_inner_texts()
    assert agents == ["belt-monitor", "valve-watch"]

    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    saved = Path(download.value.path()).read_bytes()
    assert saved.startswith(b"\xef\xbb\xbf")  # Excel then reads it as UTF-8
    text = saved.decode("utf-8-sig")
    assert text.startswith("month,agent,agent_hours,customers,currency")
    assert ",belt-monitor,2.000000,1," in text and ",valve-watch,2.000000,1," in text
