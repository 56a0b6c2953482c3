"""The pricing page in Chromium names a plan's kind as the page's own words do ("One-time",
as in "One-time price" and "one-time plans only"); before, Django's automatic label read
"One Time"."""

import pytest

from marketplace.plans import create_plan
from tests.browser.test_vendor_portal_journey import portal_sign_in
from tests.factories import AgentVersionFactory

pytestmark = [pytest.mark.browser]


def test_the_pricing_page_names_plan_kinds_in_its_words(journey, vendor_admin):
    tenant = vendor_admin.memberships.get().tenant
    version = AgentVersionFactory(agent__tenant=tenant, agent__name="pump-anomaly", public=True)
    create_plan(
        version.agent, key="once", name="Lifetime", kind="one_time", currency="EUR", amount=4900
    )
    page = journey.page
    portal_sign_in(journey, vendor_admin)
    journey.goto(f"/portal/agents/{version.agent_id}/pricing/")

    kinds = page.get_by_label("Kind").locator("option").all_inner_texts()
    assert kinds == ["Free", "One-time", "Metered"]
    assert "once v1 · One-time" in page.locator("#plan-once").inner_text()
