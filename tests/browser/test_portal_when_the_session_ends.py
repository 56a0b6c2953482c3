"""A vendor's portal tab outlives its session (signed out in another tab, expired), in
Chromium. A form sent from it goes through the sign-in and back to the page the form was on
(the submit's own address answers only submits: it landed on a bare 405 before), and a
version page following a run says that progress stopped showing and how to see it again
(it went on asking every 5 s, silently, showing the old stage for good)."""

import time

import pytest
from django.conf import settings

from tests.browser.test_vendor_portal_journey import portal_sign_in
from tests.conftest import totp_now
from tests.factories import (
    PASSWORD,
    AgentVersionFactory,
    CertificationRunFactory,
    ReviewFactory,
    TenantFactory,
)

pytestmark = [pytest.mark.browser]


def signed_out_elsewhere(page) -> None:
    """The session ends (another tab signed out); the CSRF cookie stays, as it does then."""
    page.context.clear_cookies(name=settings.SESSION_COOKIE_NAME)


def sign_in_again(journey, user) -> None:
    page = journey.page
    assert "/portal/sign-in/" in page.url
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    # The authenticator's next code: the one of the first sign-in is not taken twice.
    page.get_by_label("Authentication code").fill(totp_now(user.device, at=time.time() + 30))
    journey.click(page.get_by_role("button", name="Sign in"))


def test_a_reply_sent_after_the_session_ended_comes_back_to_its_page(journey, vendor_admin):
    page = journey.page
    tenant = vendor_admin.memberships.get().tenant
    version = AgentVersionFactory(agent__tenant=tenant, agent__name="pump-anomaly", public=True)
    ReviewFactory(agent=version.agent, tenant=TenantFactory(name="Factory One"), stars=4)
    reviews = f"/portal/agents/{version.agent_id}/reviews/"
    portal_sign_in(journey, vendor_admin)
    journey.goto(reviews)

    signed_out_elsewhere(page)
    page.get_by_label("Your reply to Factory One").fill("Thanks!")
    journey.click(page.get_by_role("button", name="Reply to Factory One"))
    sign_in_again(journey, vendor_admin)

    assert page.url == journey.base_url + reviews
    assert page.get_by_label("Your reply to Factory One").is_visible()  # to type again


def test_a_version_page_says_when_it_stops_following_the_run(journey, vendor_admin):
    page = journey.page
    version = AgentVersionFactory(
        agent__tenant=vendor_admin.memberships.get().tenant,
        agent__name="pump-anomaly",
        version="1.0.0",
        certification_status="running",
    )
    CertificationRunFactory(version=version, running=True)
    path = f"/portal/agents/{version.agent_id}/versions/1.0.0/"
    portal_sign_in(journey, vendor_admin)
    journey.goto(path)
    assert page.locator("#runs").get_attribute("data-active") == "true"

    signed_out_elsewhere(page)

    notice = page.locator("#runs-signed-out")
    notice.wait_for(timeout=15_000)
    assert "You were signed out" in notice.inner_text()
    journey.click(notice.get_by_role("link", name="Sign in again"))
    sign_in_again(journey, vendor_admin)
    assert page.url == journey.base_url + path
