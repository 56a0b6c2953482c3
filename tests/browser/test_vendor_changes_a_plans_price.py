"""A vendor admin, in Chromium, opens an agent's pricing, follows a held plan's "Change name or
price" link, is told that saving makes the next version, types a new hourly price, saves, and
reads the new price and version on the pricing page; its holders keep the old version."""

import pytest

from marketplace.models import Entitlement, PricePlan
from marketplace.plans import create_plan
from tests.browser.test_vendor_portal_journey import portal_sign_in
from tests.factories import AgentVersionFactory, EntitlementFactory

pytestmark = [pytest.mark.browser]


def hourly_plan(vendor_admin, *, cents: int):
    """The vendor's public agent pump-anomaly and its metered plan "Pay as you go" at
    ``cents`` USD cents an hour: (its version, the plan)."""
    tenant = vendor_admin.memberships.get().tenant
    version = AgentVersionFactory(agent__tenant=tenant, agent__name="pump-anomaly", public=True)
    plan = create_plan(
        version.agent,
        key="hourly",
        name="Pay as you go",
        kind="metered",
        currency="USD",
        terms={"scheme": "per_unit", "unit_amount": cents},
    )
    return version, plan


def test_a_vendor_changes_a_held_plans_price_and_sees_its_next_version(journey, vendor_admin):
    page = journey.page
    version, plan = hourly_plan(vendor_admin, cents=50)
    EntitlementFactory(order__plan=plan)  # a customer holds v1

    portal_sign_in(journey, vendor_admin)
    journey.click(page.get_by_role("link", name="pump-anomaly", exact=True))
    journey.click(page.get_by_role("link", name="Pricing and plans"))
    assert "0.50 USD per agent-hour" in page.locator("#plan-hourly").inner_text()
    journey.click(page.get_by_role("link", name="Change name or price of Pay as you go"))
    assert page.url.endswith(f"/portal/agents/{version.agent_id}/pricing/{plan.pk}/revise/")
    assert "saving offers v2 to new orders" in page.locator("#revise-effect").inner_text()
    assert page.get_by_label("Plan name").input_value() == "Pay as you go"
    assert page.get_by_label("Price per agent-hour").input_value() == "0.50"

    page.get_by_label("Price per agent-hour").fill("0.65")
    journey.click(page.get_by_role("button", name="Save as v2"))

    assert page.url.endswith(f"/portal/agents/{version.agent_id}/pricing/#plan-hourly")
    assert "Pay as you go is v2 for new orders" in page.locator(".messages").inner_text()
    shown = page.locator("#plan-hourly").inner_text()
    assert "hourly v2" in shown and "0.65 USD per agent-hour" in shown
    assert PricePlan.objects.get(is_current=True).version == 2
    assert Entitlement.objects.get().plan_id == plan.pk


def test_a_price_changed_in_another_tab_is_not_undone_by_an_older_form(journey, vendor_admin):
    """Two tabs open on a plan nobody holds yet: the first saves a new price; the second,
    opened before, saves a new name. Before, that save put the old price back unseen; now it
    is refused (plan_changed) and the form shows the plan as it is, to change again."""
    first = journey.page
    version, plan = hourly_plan(vendor_admin, cents=10)
    revise = f"/portal/agents/{version.agent_id}/pricing/{plan.pk}/revise/"
    portal_sign_in(journey, vendor_admin)
    journey.goto(revise)
    second = first.context.new_page()
    second.goto(journey.base_url + revise)

    first.get_by_label("Price per agent-hour").fill("0.50")
    journey.click(first.get_by_role("button", name="Save changes"))
    assert PricePlan.objects.get(pk=plan.pk).terms["unit_amount"] == 50

    journey.expect_status(412, revise)
    second.get_by_label("Plan name").fill("Pay per hour")
    with second.expect_navigation():
        second.get_by_role("button", name="Save changes").click()

    assert "plan_changed" in second.locator(".refusal").inner_text()
    stored = PricePlan.objects.get(pk=plan.pk)
    assert (stored.name, stored.terms["unit_amount"]) == ("Pay as you go", 50)
    assert second.get_by_label("Price per agent-hour").input_value() == "0.50"
    second.get_by_label("Plan name").fill("Pay per hour")
    with second.expect_navigation():
        second.get_by_role("button", name="Save changes").click()
    stored.refresh_from_db()
    assert (stored.name, stored.terms["unit_amount"]) == ("Pay per hour", 50)
