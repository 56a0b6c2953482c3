"""The version page in Chromium while a certification run is active: the page swaps in the
runs section at every poll, and a previous run's stage report the vendor opened (and the logs
inside it) stays open across the polls, with the page left where the vendor scrolled it."""

import pytest

from tests.browser.runs import passed_run
from tests.browser.test_vendor_portal_journey import portal_sign_in
from tests.factories import CertificationRunFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The page polls every two seconds (five after a failed poll).
POLL_TIMEOUT_MS = 15_000


def _is_open(page, selector: str) -> bool:
    return page.locator(selector).evaluate("el => el.open")


def test_an_opened_report_stays_open_while_a_new_run_is_polled(journey, vendor_admin):
    tenant = vendor_admin.memberships.get().tenant
    previous = passed_run(agent__tenant=tenant, agent__name="pump-anomaly", version="1.2.0")
    page = journey.page
    version = previous.version
    active = CertificationRunFactory(version=version, level="standard", running=True)
    portal_sign_in(journey, vendor_admin)
    journey.goto(f"/portal/agents/{version.agent_id}/versions/1.2.0/")
    assert page.locator("#runs").get_attribute("data-active") == "true"
    assert page.locator(f"#run-{active.pk}").is_visible()

    report = f"#run-{previous.pk}-stage-validation"
    logs = f"{report} details.stage-logs"
    page.locator(f"{report} > summary").click()
    page.locator(f"{logs} > summary").click()
    assert _is_open(page, report) and _is_open(page, logs)
    page.locator(f"{logs} pre").scroll_into_view_if_needed()
    scrolled = page.evaluate("window.scrollY")
    assert scrolled > 0  # the report is below the fold: a jump would show
    page.evaluate("window.stillThisPage = true")

    for _ in range(2):  # two polls, each checked once its section is swapped in
        page.locator(report).evaluate("el => { el.fromBeforeThePoll = true; }")
        with page.expect_response(
            lambda response: response.url.endswith("/runs.json"), timeout=POLL_TIMEOUT_MS
        ) as poll:
            pass
        assert poll.value.ok and poll.value.json()["active"] is True
        page.wait_for_function(
            f"!document.querySelector({report!r}).fromBeforeThePoll", timeout=POLL_TIMEOUT_MS
        )
        assert _is_open(page, report), "the opened report snapped shut at a poll"
        assert _is_open(page, logs), "the opened logs snapped shut at a poll"

    assert page.evaluate("window.stillThisPage") is True
    assert page.locator(f"{logs} pre").is_visible()
    assert page.evaluate("window.scrollY") == scrolled
    # The logs' summary, clicked last, keeps the focus (a keyboard user stays where they were).
    focused = page.evaluate("document.activeElement.parentElement.id")
    assert focused == f"run-{previous.pk}-stage-validation-logs"
    # Reports nobody opened stay closed.
    assert not _is_open(page, f"#run-{previous.pk}-stage-security")
    journey.check()
