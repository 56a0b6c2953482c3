"""A vendor admin, in Chromium, follows a plan's "Retire" link: a page says what retiring does
and asks first. Cancel goes back to the pricing page with the plan still on offer; "Yes,
retire" retires it, and its page then says there is nothing left to do. One click on Retire
used to retire the plan at once."""

import pytest

from marketplace.models import PricePlan
from marketplace.plans import revise_plan
from tests.browser.test_vendor_changes_a_plans_price import hourly_plan
from tests.browser.test_vendor_portal_journey import portal_sign_in
from tests.factories import EntitlementFactory

pytestmark = [pytest.mark.browser]


def _pricing(journey, vendor_admin, plan):
    portal_sign_in(journey, vendor_admin)
    journey.goto(f"/portal/agents/{plan.agent_id}/pricing/")
    return journey.page


def test_retiring_a_plan_asks_first_and_cancel_keeps_it_on_offer(journey, vendor_admin):
    _version, plan = hourly_plan(vendor_admin, cents=50)
    page = _pricing(journey, vendor_admin, plan)
    pricing = journey.base_url + f"/portal/agents/{plan.agent_id}/pricing/"

    journey.click(page.get_by_role("link", name="Retire Pay as you go"))
    assert page.url == pricing + f"{plan.pk}/retire/"
    assert page.get_by_role("heading", name="Retire Pay as you go").count() == 1
    said = page.locator("main").inner_text()
    assert "New orders can no longer choose it; those who hold it keep it" in said
    assert "This cannot be undone." in said
    journey.click(page.get_by_role("link", name="Cancel"))
    assert page.url == pricing + "#plan-hourly"
    assert PricePlan.objects.get(pk=plan.pk).retired_at is None
    assert page.locator("#plan-hourly .badge.yanked").count() == 0

    journey.click(page.get_by_role("link", name="Retire Pay as you go"))
    journey.click(page.get_by_role("button", name="Yes, retire Pay as you go"))
    assert page.url == pricing
    assert "Plan Pay as you go is retired" in page.locator(".messages").inner_text()
    assert page.locator("#plan-hourly .badge.yanked").inner_text() == "retired"
    assert page.get_by_role("link", name="Retire Pay as you go").count() == 0
    assert PricePlan.objects.get(pk=plan.pk).retired_at is not None

    journey.goto(f"/portal/agents/{plan.agent_id}/pricing/{plan.pk}/retire/")
    assert "there is nothing left to do" in page.locator("main").inner_text()
    assert page.get_by_role("button", name="Yes, retire Pay as you go").count() == 0


def test_retiring_a_version_replaced_meanwhile_says_why_it_was_refused(journey, vendor_admin):
    """The confirm page was opened on v1; a colleague's price change made v2 before the
    click. The refusal names the version on offer; before, it was dropped without a word."""
    _version, plan = hourly_plan(vendor_admin, cents=50)
    EntitlementFactory(order__plan=plan)  # held: a price change makes v2
    page = _pricing(journey, vendor_admin, plan)
    journey.click(page.get_by_role("link", name="Retire Pay as you go"))
    newer = revise_plan(plan, terms={"scheme": "per_unit", "unit_amount": 65})

    journey.click(page.get_by_role("button", name="Yes, retire Pay as you go"))
    flashed = page.locator(".messages").inner_text()
    assert "plan_retired" in flashed and f"retire v2 (id {newer.pk})" in flashed
    assert not PricePlan.objects.filter(retired_at__isnull=False).exists()
