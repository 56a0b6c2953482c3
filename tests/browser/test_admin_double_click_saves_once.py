"""A second click on Save of an admin add or change page while the page is still loading (a
busy server, a double-click out of habit) does not send the form twice: the second would
meet the first's row (a tenant's slug taken) and the page that came back said so, or failed,
hiding that the first was saved. The form is sent once, and the page says what it did."""

import time

import pytest

import edgeplug.tenancy.admin as tenancy_admin
from edgeplug.audit.models import AuditEvent
from edgeplug.tenancy.models import Tenant

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_second_click_on_save_adds_one_tenant_and_says_so(journey, superuser, monkeypatch):
    creating = tenancy_admin.create_tenant

    def slowly(*args, **kwargs):  # a busy server: the page is still loading at the 2nd click
        time.sleep(1)
        return creating(*args, **kwargs)

    monkeypatch.setattr(tenancy_admin, "create_tenant", slowly)
    journey.sign_in(superuser)
    page = journey.page
    journey.goto("/admin/tenancy/tenant/add/")
    page.get_by_label("Slug:").fill("nordic-pumps")  # first: the name no longer fills it
    page.get_by_label("Name:").fill("Nordic Pumps")
    button = page.get_by_role("button", name="Save", exact=True)
    button.evaluate("b => { b.click(); setTimeout(() => b.click(), 300); }")
    # The page that comes back: after the last form sent, whichever that was.
    page.locator(".messagelist").wait_for()
    page.wait_for_load_state()
    journey.check()  # no HTTP 500 on the way

    assert Tenant.objects.filter(slug="nordic-pumps").count() == 1
    assert AuditEvent.objects.filter(action="tenant_created").count() == 1
    assert page.locator(".errorlist, .errornote").count() == 0
    assert "was added successfully" in page.locator(".messagelist").inner_text()
