"""Yanking a version from its page in Chromium: a blank reason reaches the action, which
refuses it as the API does (reason_required, said on the page it returns to); a reason yanks
the version, and the page says so."""

import re

import pytest
from playwright.sync_api import expect

from edgeplug.tenancy.models import Tenant
from tests.browser.test_vendor_portal_journey import portal_sign_in
from tests.factories import AgentVersionFactory
from tests.vendors import VENDOR_SLUG

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REASON = "Why are you yanking this version?"


def test_a_blank_reason_is_refused_and_a_reason_yanks(journey, vendor_admin):
    page = journey.page
    version = AgentVersionFactory(agent__tenant=Tenant.objects.get(slug=VENDOR_SLUG), public=True)
    portal_sign_in(journey, vendor_admin)
    journey.goto(f"/portal/agents/{version.agent_id}/versions/{version.version}/")
    yank = page.get_by_role("button", name=f"Yank {version.version}")

    journey.expect_status(
        400, f"/portal/agents/{version.agent_id}/versions/{version.version}/yank/"
    )
    page.get_by_label(REASON).fill("   ")
    journey.click(yank)
    # Said by the reason, the field marked and described by it (it was a flash at the top
    # of the page, about "a decision").
    refusal = page.locator("#yank-h ~ .refusal")
    expect(refusal).to_contain_text("reason_required: Say why you are yanking this version")
    reason = page.get_by_label(REASON)
    expect(reason).to_have_attribute("aria-invalid", "true")
    expect(reason).to_have_accessible_description(re.compile("Say why you are yanking"))
    version.refresh_from_db()
    assert version.yanked_at is None

    page.get_by_label(REASON).fill("wrong model")
    journey.click(yank)
    assert f"{version} is yanked: customers no longer see it." in page.locator("main").inner_text()
    assert "wrong model" in page.locator("p.refusal").inner_text()
    assert page.get_by_label(REASON).count() == 0
    version.refresh_from_db()
    assert version.yank_reason == "wrong model"
