"""A vendor offers a plan from the keyboard and leaves out a price the kind needs: the page
comes back with that very field marked, focused and described by what is missing, what they
typed kept. Before, "Give the price per agent-hour." was said over the whole form, no field
marked, the focus on the sentence: the person had to find the field themselves."""

import re

import pytest
from playwright.sync_api import expect

from marketplace.models import PricePlan
from tests.browser.test_portal_refused_field_is_focused_and_described import refused_by_keyboard
from tests.browser.test_vendor_portal_journey import portal_sign_in
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


def test_a_plan_name_invoices_cannot_print_focuses_the_name(journey, vendor_admin):
    """The refusal comes from the plan rules the API runs (``invalid_plan_name``), not from the
    form: it names its field, and the page marks that one, below the refusal that takes the focus.
    Before, the page said it above the form and left the name unmarked."""
    agent = AgentFactory(tenant=vendor_admin.memberships.get().tenant, name="pump-anomaly")
    AgentVersionFactory(agent=agent, version="1.0.0", public=True)
    pricing = f"/portal/agents/{agent.pk}/pricing/"
    # Key, name (a bidirectional override would print another price), One Time, USD as the
    # form opens, 10.00.
    typed = ("basic", "Basic \u202e00.001 EUR", "O", "", "10")
    page = refused_by_keyboard(journey, vendor_admin, pricing, "key", *typed)

    refusal = page.locator(".refusal")
    expect(refusal).to_be_focused()
    expect(refusal).to_contain_text("invalid_plan_name")
    name = page.get_by_label("Plan name")
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(name).to_have_accessible_description(re.compile("bidirectional control U\\+202E"))
    expect(page.get_by_label("One-time price")).to_have_value("10")
    assert not PricePlan.objects.filter(agent=agent).exists()
    page.keyboard.press("Tab")  # from the refusal into the form: the key, then the name
    expect(page.get_by_label("Plan key")).to_be_focused()
    page.keyboard.press("Tab")
    expect(name).to_be_focused()


def test_tiers_without_a_last_star_line_focus_the_tiers_in_the_forms_words(journey, vendor_admin):
    """It was the API's words over the form ('The last tier must have "up_to": null'), the
    Tiers unmarked: the form writes the rest of the hours as "* at PRICE"."""
    agent, page = _plan_typed(journey, vendor_admin, "tiered", "Tiered")
    page.get_by_label("Metered scheme").select_option("graduated")
    page.get_by_label("Tiers").fill("100 at 0.10\n200 at 0.05")
    journey.click(page.get_by_role("button", name="Offer plan"))

    tiers = page.get_by_label("Tiers")
    expect(tiers).to_be_focused()
    expect(tiers).to_have_attribute("aria-invalid", "true")
    expect(tiers).to_have_accessible_description(
        re.compile("End the tiers with a line “\\* at PRICE”: the price of the hours above 200")
    )
    expect(tiers).to_have_value("100 at 0.10\n200 at 0.05")
    assert not PricePlan.objects.filter(agent=agent).exists()


def test_a_one_time_price_below_the_card_minimum_marks_the_price(journey, vendor_admin):
    """The plan rules name the amount (the API's field); the form's is One-time price. It was
    said over the form only, no field marked."""
    agent = AgentFactory(tenant=vendor_admin.memberships.get().tenant, name="pump-anomaly")
    AgentVersionFactory(agent=agent, version="1.0.0", public=True)
    pricing = f"/portal/agents/{agent.pk}/pricing/"
    page = refused_by_keyboard(
        journey, vendor_admin, pricing, "key", "basic", "Basic", "O", "EUR", "0.10"
    )

    expect(page.locator(".refusal")).to_contain_text("invalid_price_terms")
    price = page.get_by_label("One-time price")
    expect(price).to_have_attribute("aria-invalid", "true")
    expect(price).to_have_accessible_description(re.compile("minimum charge of 0.50 EUR"))
    expect(price).to_have_value("0.10")
    assert not PricePlan.objects.filter(agent=agent).exists()


def test_included_hours_are_held_to_the_plan_rules_in_the_browser(journey, vendor_admin):
    """The page's input says the plan rules' six decimals (its step): Chromium stops a seventh
    before the form is sent, and lets 10.5000000 through, which the form then takes as the API
    does (10.5). Django's decimal-places check refused it for its trailing zeros."""
    agent, page = _plan_typed(journey, vendor_admin, "hourly", "By the hour")
    page.get_by_label("Price per agent-hour").fill("0.25")
    included = page.get_by_label("Included hours per month")

    included.fill("10.0000001")
    assert included.evaluate("input => input.validity.stepMismatch")
    included.fill("10.5000000")
    assert included.evaluate("input => input.checkValidity()")
    journey.click(page.get_by_role("button", name="Offer plan"))
    assert "Plan By the hour is offered." in page.locator(".messages").inner_text()
    assert PricePlan.objects.get(agent=agent, key="hourly").terms["included_hours"] == "10.5"


def _plan_typed(journey, vendor_admin, key: str, name: str):
    """A vendor's agent and its pricing page, signed in, the new plan's key and name typed."""
    agent = AgentFactory(tenant=vendor_admin.memberships.get().tenant, name="pump-anomaly")
    AgentVersionFactory(agent=agent, version="1.0.0", public=True)
    pricing = f"/portal/agents/{agent.pk}/pricing/"
    page = journey.page
    portal_sign_in(journey, vendor_admin)
    journey.goto(pricing)
    journey.expect_status(400, pricing)
    page.get_by_label("Plan key").fill(key)
    page.get_by_label("Plan name").fill(name)
    return agent, page
