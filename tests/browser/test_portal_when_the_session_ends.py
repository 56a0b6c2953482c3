"""A vendor's portal tab outlives its session (signed out in another tab, expired), in
Chromium. A form sent from it goes through the sign-in and back to the page the form was on
(the submit's own address answers only submits: it landed on a bare 405 before), and a
version page following a run says that progress stopped showing and how to see it again
(it went on asking every 5 s, silently, showing the old stage for good). A form older than
a sign-in made since (its CSRF token replaced) gets the portal's page saying so, or, for the
upload's script, a refusal it shows."""

import pytest
from django.conf import settings

from tests.browser.runs import running_version
from tests.browser.test_vendor_portal_journey import _files, portal_sign_in
from tests.conftest import totp_after_last
from tests.factories import (
    PASSWORD,
    AgentVersionFactory,
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
    # The authenticator's code after the one the first sign-in used, which is not taken twice.
    page.get_by_label("Authentication code").fill(totp_after_last(user.device))
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
    version, _ = running_version(vendor_admin)
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


def stale_csrf(page) -> None:
    """What signing in again in another tab does to this tab's forms: a new CSRF token."""
    cookie = next(c for c in page.context.cookies() if c["name"] == settings.CSRF_COOKIE_NAME)
    page.context.add_cookies([{**cookie, "value": "x" * 32}])


def test_a_form_older_than_the_sign_in_gets_a_portal_page_that_says_so(journey, vendor_admin):
    """Before: Django's bare "CSRF verification failed", no portal, the input gone."""
    page = journey.page
    version = AgentVersionFactory(
        agent__tenant=vendor_admin.memberships.get().tenant, agent__name="pump-anomaly"
    )
    pricing = f"/portal/agents/{version.agent_id}/pricing/"
    portal_sign_in(journey, vendor_admin)
    journey.goto(pricing)
    page.get_by_label("Plan key").fill("trial")
    page.get_by_label("Plan name").fill("Trial")
    page.get_by_label("Kind").select_option("free")
    stale_csrf(page)

    journey.expect_status(403, pricing)
    journey.click(page.get_by_role("button", name="Offer plan"))

    assert page.locator("h1").inner_text() == "This form is older than your sign-in"
    assert "csrf_failed" in page.locator(".refusal").inner_text()
    assert page.get_by_role("link", name="Upload").count() == 1  # the portal's own frame
    journey.click(page.get_by_role("link", name="Reload the form's page"))
    assert page.url == journey.base_url + pricing


def test_an_upload_older_than_the_sign_in_is_told_why(journey, vendor_admin):
    """The upload's script read the HTML 403 as nothing: "error: The upload was refused."."""
    page = journey.page
    portal_sign_in(journey, vendor_admin)
    journey.goto("/portal/upload/")
    _files(page, b"PK\x05\x06" + b"\x00" * 18, b"c2ln\n")
    stale_csrf(page)

    journey.expect_status(403, "/portal/upload/")
    page.get_by_role("button", name="Upload").click()
    refusal = page.locator("#refusal .refusal")
    refusal.wait_for()
    assert refusal.locator(".code").inner_text() == "csrf_failed"
    assert "reload the page" in refusal.locator(".detail").inner_text()
