"""A portal link that leads nowhere, in Chromium: the page is the portal's own (its header and
nav for a signed-in member, a way back), says the page does not exist or belongs to another
vendor and names the vendor signed in to; another vendor's agent reads exactly like one that
does not exist. Before, every such link was Django's bare "Not Found" page."""

import pytest

from tests.browser.test_vendor_portal_journey import portal_sign_in
from tests.conftest import totp_now
from tests.factories import (
    PASSWORD,
    AgentFactory,
    AgentVersionFactory,
    MembershipFactory,
    VendorTenantFactory,
)
from tests.vendors import VENDOR_SLUG

pytestmark = [pytest.mark.browser]

NAV = "nav[aria-label=Portal]"


@pytest.fixture
def agents(vendor_admin):
    """Acme's own agent and one of Rival Robotics, another vendor."""
    tenant = vendor_admin.memberships.get().tenant
    own = AgentFactory(tenant=tenant, name="pump-anomaly")
    AgentVersionFactory(agent=own, version="1.0.0")
    rival = VendorTenantFactory(slug="rival", name="Rival Robotics")
    theirs = AgentFactory(tenant=rival, name="rival-agent")
    AgentVersionFactory(agent=theirs, version="2.0.0")
    return {"own": own, "theirs": theirs, "rival": rival}


def _not_found(journey, path: str) -> str:
    """Open ``path``, expecting the portal's 404 page; its main text."""
    journey.expect_status(404, path)
    response = journey.goto(path)
    page = journey.page
    assert response.status == 404, path
    assert response.headers["content-type"].startswith("text/html"), path
    assert "The requested resource was not found on this server" not in page.content()
    assert page.locator("header.top .brand").count() == 1, page.content()[:800]
    return page.locator("main").inner_text()


def test_a_signed_in_vendor_gets_the_portals_not_found_page(journey, vendor_admin, agents):
    page = journey.page
    portal_sign_in(journey, vendor_admin)

    missing = _not_found(journey, "/portal/agents/999999/")
    assert page.locator(NAV).is_visible()
    assert page.locator(NAV).get_by_role("link", name="Dashboard").is_visible()
    assert "Acme Robotics" in missing
    assert "another vendor" in missing
    assert "999999" not in missing

    # Another vendor's agent is a 404 that reads exactly like one that does not exist.
    theirs = agents["theirs"]
    assert _not_found(journey, f"/portal/agents/{theirs.pk}/") == missing
    assert page.locator(NAV).is_visible()
    assert "rival" not in page.content().lower()
    assert _not_found(journey, f"/portal/agents/{theirs.pk}/versions/2.0.0/") == missing
    own = agents["own"]
    assert _not_found(journey, f"/portal/agents/{own.pk}/versions/9.9.9/") == missing
    assert _not_found(journey, "/portal/workflows/999999/") == missing

    # A mistyped address 404s before any portal page runs: still the portal's frame.
    assert _not_found(journey, "/portal/no-such-page/") == missing
    assert page.locator(NAV).is_visible()

    # The way back leads to the portal's home.
    journey.click(page.get_by_role("link", name="Back to the portal"))
    assert page.url == journey.base_url + "/portal/"
    assert page.locator(NAV).is_visible()


def test_a_member_of_two_vendors_is_told_which_vendor_they_are_signed_in_to(
    journey, vendor_admin, agents
):
    """A colleague at Rival sends a link to Rival's agent; Ada, signed in to Acme, opens it."""
    MembershipFactory(tenant=agents["rival"], user=vendor_admin, role="developer")
    page = journey.page
    journey.goto("/portal/sign-in/")
    page.get_by_label("Email").fill(vendor_admin.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Authentication code").fill(totp_now(vendor_admin.device))
    page.get_by_label("Vendor account").fill(VENDOR_SLUG)
    journey.click(page.get_by_role("button", name="Sign in"))
    assert page.url == journey.base_url + "/portal/"

    text = _not_found(journey, f"/portal/agents/{agents['theirs'].pk}/")
    assert page.locator(NAV).is_visible()
    assert "Acme Robotics" in text
    assert "sign in to that vendor" in text.lower()
    # Signing out is at hand, to sign in to the other vendor.
    assert page.get_by_role("button", name="Sign out").is_visible()


def test_signed_out_visitors(journey, agents):
    page = journey.page
    # A portal page signed out leads to the sign-in, as before, whatever the object.
    journey.goto("/portal/agents/999999/")
    assert "/portal/sign-in/" in page.url
    journey.goto(f"/portal/agents/{agents['theirs'].pk}/")
    assert "/portal/sign-in/" in page.url

    # An address no portal page answers: the portal's frame without a nav, and a way in.
    text = _not_found(journey, "/portal/no-such-page/")
    assert page.locator(NAV).count() == 0
    assert "does not exist" in text
    journey.click(page.get_by_role("link", name="Back to the portal"))
    assert "/portal/sign-in/" in page.url

    # Outside the portal and the API: a plain page, with a way to the home page.
    journey.expect_status(404, "/no-such-page/")
    response = journey.goto("/no-such-page/")
    assert response.status == 404
    assert "The requested resource was not found on this server" not in page.content()
    journey.click(page.get_by_role("link", name="EdgePlug home"))
    assert page.url == journey.base_url + "/"
