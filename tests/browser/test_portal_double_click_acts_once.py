"""In the vendor portal, a second click on a form's button while its page is still loading
(a busy server, a double-click out of habit) does not act twice: the form is sent once, and
the page that comes back says what the first did, not a refusal the second earned."""

import time

import pytest

from marketplace import plans
from marketplace.models import PricePlan
from tests.browser.test_vendor_portal_journey import portal_sign_in
from tests.factories import AgentVersionFactory

pytestmark = [pytest.mark.browser]


def test_a_second_click_on_offer_plan_offers_one_plan_and_says_so(
    journey, vendor_admin, monkeypatch
):
    tenant = vendor_admin.memberships.get().tenant
    version = AgentVersionFactory(agent__tenant=tenant, agent__name="pump-anomaly", public=True)
    creating = plans.create_plan

    def slowly(*args, **kwargs):  # a busy server: the page is still loading at the 2nd click
        time.sleep(1)
        return creating(*args, **kwargs)

    monkeypatch.setattr(plans, "create_plan", slowly)
    portal_sign_in(journey, vendor_admin)
    page = journey.page
    journey.goto(f"/portal/agents/{version.agent_id}/pricing/")
    page.get_by_label("Plan key").fill("hourly")
    page.get_by_label("Plan name").fill("Pay as you go")
    page.get_by_label("Price per agent-hour").fill("0.50")
    button = page.get_by_role("button", name="Offer plan")
    button.evaluate("b => { b.click(); setTimeout(() => b.click(), 300); }")
    page.locator(".messages").wait_for()
    page.wait_for_load_state()
    journey.check()

    assert PricePlan.objects.filter(agent=version.agent).count() == 1
    assert "Plan Pay as you go is offered." in page.locator(".messages").inner_text()
    assert page.locator(".refusal").count() == 0
