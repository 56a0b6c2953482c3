"""A vendor offers a plan from the keyboard and leaves out a price the kind needs: the page
comes back with that very field marked, focused and described by what is missing, what they
typed kept. Before, "Give the price per agent-hour." was said over the whole form, no field
marked, the focus on the sentence: the person had to find the field themselves."""

import re

import pytest
from playwright.sync_api import expect

from marketplace.models import PricePlan
from tests.browser.test_portal_refused_field_is_focused_and_described import refused_by_keyboard
from tests.factories import AgentFactory, AgentVersionFactory

pytestmark = [pytest.mark.browser]


def test_a_metered_plan_without_its_hourly_price_focuses_that_price(journey, vendor_admin):
    agent = AgentFactory(tenant=vendor_admin.memberships.get().tenant, name="pump-anomaly")
    AgentVersionFactory(agent=agent, version="1.0.0", public=True)
    pricing = f"/portal/agents/{agent.pk}/pricing/"
    # Metered, per agent-hour, USD, as the form opens: sent with a key and a name only.
    page = refused_by_keyboard(journey, vendor_admin, pricing, "key", "hourly", "By the hour")

    price = page.get_by_label("Price per agent-hour")
    expect(price).to_be_focused()
    expect(price).to_have_attribute("aria-invalid", "true")
    expect(price).to_have_accessible_description(re.compile("Give the price per agent-hour"))
    expect(page.get_by_label("Plan key")).to_have_value("hourly")
    expect(page.get_by_label("Plan name")).to_have_value("By the hour")
    assert not PricePlan.objects.filter(agent=agent).exists()

    page.keyboard.type("0.25")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    journey.check()
    assert "Plan By the hour is offered." in page.locator(".messages").inner_text()
    assert PricePlan.objects.get(agent=agent, key="hourly").terms["unit_amount"] == 25
