"""A vendor who never used the CLI, in Chromium: signs in with TOTP, registers the key
`edgeplug keygen` printed, reads why a hostile package is refused, uploads a good one and
watches a real Celery worker certify it live on the version page, then reads every stage."""

import pytest

from edgeplug import signing
from tests.certification.conftest import model_package
from tests.conftest import totp_now
from tests.factories import (
    PASSWORD,
    AgentFactory,
    AgentVersionFactory,
)
from tests.packageformat.hostile import HOSTILE_CASES

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CERTIFICATION_TIMEOUT_MS = 240_000


def portal_sign_in(journey, user) -> None:
    page = journey.page
    journey.goto("/portal/")
    assert "/portal/sign-in/" in page.url
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Authentication code").fill(totp_now(user.device))
    journey.click(page.get_by_role("button", name="Sign in"))
    assert page.url == journey.base_url + "/portal/"


def _files(page, data: bytes, signature: bytes) -> None:
    page.get_by_label("Agent package (.epk)").set_input_files(
        files=[{"name": "agent.epk", "mimeType": "application/octet-stream", "buffer": data}]
    )
    page.get_by_label("Signature (.sig)").set_input_files(
        files=[{"name": "agent.epk.sig", "mimeType": "text/plain", "buffer": signature}]
    )


@pytest.mark.worker
def test_vendor_goes_from_sign_in_to_a_certified_version(journey, live_worker, vendor_admin):
    page = journey.page
    portal_sign_in(journey, vendor_admin)
    assert "No agents yet" in page.locator("main").inner_text()

    # The key `edgeplug keygen` printed, pasted whole.
    keys = signing.generate_keypair()
    journey.click(page.get_by_role("link", name="Signing keys"))
    page.get_by_label("Name").fill("release laptop")
    page.get_by_label("Public key", exact=True).fill(
        f"key id:      {keys.key_id}\npublic key:  {signing.encode_b64(keys.public_key)}"
    )
    journey.click(page.get_by_role("button", name="Register key"))
    registered = f"Key “release laptop” ({keys.key_id}) is registered."
    assert registered in page.locator(".messages").inner_text()
    assert page.get_by_role("cell", name=keys.key_id, exact=True).is_visible()

    def sign(data: bytes) -> bytes:
        return signing.encode_b64(signing.sign_package(keys.private_key, data)).encode()

    # A hostile package: refused with its code, a sentence and the rule it broke.
    hostile = next(c for c in HOSTILE_CASES if c.code == "path_traversal").build(None)
    journey.click(page.get_by_role("link", name="Upload"))
    journey.expect_status(422, "/portal/upload/")
    _files(page, hostile, sign(hostile))
    page.get_by_role("button", name="Upload").click()
    refusal = page.locator("#refusal .refusal")
    refusal.wait_for()
    assert refusal.locator(".code").inner_text() == "path_traversal"
    assert ".." in refusal.locator(".detail").inner_text()
    assert page.locator("#upload-bar").get_attribute("value") == "100"
    journey.check()
    journey.click(refusal.get_by_role("link", name="What this means in the package format"))
    assert page.url.endswith("/portal/docs/package-format/#refusal-path_traversal")
    row = page.locator("#refusal-path_traversal").inner_text()
    assert "path_traversal" in row and "segment" in row

    # A good package, submitted for certification at the basic level.
    good = model_package()
    journey.goto("/portal/upload/")
    _files(page, good, sign(good))
    assert page.get_by_label("Submit for certification").is_checked()
    page.get_by_label("Certification level").select_option("basic")
    with page.expect_navigation(url="**/portal/agents/*/versions/1.0.0/"):
        page.get_by_role("button", name="Upload").click()
    journey.check()
    assert page.locator("#runs").get_attribute("data-active") == "true"
    assert page.locator(".steps .step").count() == 3

    # Live progress, no reload: a mark set on this page survives until the run passes.
    page.evaluate("window.stillThisPage = true")
    page.locator(".run-status", has_text="passed").wait_for(timeout=CERTIFICATION_TIMEOUT_MS)
    assert page.evaluate("window.stillThisPage") is True
    journey.check()
    states = page.locator(".steps .step .state").all_inner_texts()
    assert states == ["pass", "pass", "pass"]
    assert page.locator(".run progress").get_attribute("value") == "100"
    assert page.locator(".bars meter").count() >= 1

    # Every stage's report opens and shows its figures.
    reports = page.locator("details.stage-report")
    suites = []
    for i in range(reports.count()):
        report = reports.nth(i)
        report.locator("summary").first.click()
        assert report.locator(".stage-metrics").is_visible()
        suites.append(report.get_attribute("id").rsplit("-stage-", 1)[1])
    assert suites == ["validation", "invariants", "performance", "signing"]

    # The dashboard now lists the agent with its badges.
    journey.click(page.get_by_role("link", name="Dashboard"))
    assert "sensor-guard" in page.locator("main").inner_text()
    assert page.locator(".badge.review-pending").first.is_visible()


def test_vendor_sets_a_metered_plan_and_checks_the_calculator(journey, vendor_admin):
    agent = AgentFactory(tenant=vendor_admin.memberships.get().tenant, name="pump-anomaly")
    AgentVersionFactory(agent=agent, version="1.0.0", public=True)
    page = journey.page
    portal_sign_in(journey, vendor_admin)
    journey.click(page.get_by_role("link", name="pump-anomaly", exact=True))
    journey.click(page.get_by_role("link", name="Pricing and plans"))
    assert "No plan yet" in page.locator("main").inner_text()

    page.get_by_label("Plan key").fill("metered")
    page.get_by_label("Plan name").fill("Pay as you go")
    page.get_by_label("Kind").select_option("metered")
    page.get_by_label("Currency").fill("EUR")
    page.get_by_label("Metered scheme").select_option("graduated")
    page.get_by_label("Tiers").fill("100 at 0.10\n* at 0.05")
    page.get_by_label("Included hours per month").fill("10")
    page.get_by_label("Monthly flat fee").fill("5")
    journey.click(page.get_by_role("button", name="Offer plan"))
    assert "Plan Pay as you go is offered." in page.locator(".messages").inner_text()
    terms = page.locator("#plan-metered .terms").inner_text()
    assert "0 to 100 h: 0.10 EUR per hour" in terms
    assert "first 10 hours a month included" in terms

    page.get_by_label("Plan", exact=True).select_option(label="Pay as you go (v1)")
    page.get_by_label("Agent-hours in a month").fill("150")
    journey.click(page.get_by_role("button", name="Calculate"))
    assert page.locator("#quote-total").inner_text() == "17.00 EUR"
    page.get_by_label("Agent-hours in a month").fill("5")
    journey.click(page.get_by_role("button", name="Calculate"))
    assert page.locator("#quote-total").inner_text() == "5.00 EUR"
