"""The version page open while a certification run finishes, in Chromium: without a reload
it shows the finished state everywhere a run shows (the badges, the certificate, the runs
and the form to submit again), and keeps what the vendor was typing elsewhere."""

import pytest
from django.utils import timezone

from tests.browser.runs import running_version
from tests.browser.test_vendor_portal_journey import portal_sign_in
from tests.factories import (
    CertificationResultFactory,
    certificate_for,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The page polls every two seconds; a finished run shows within a few polls.
FINISHED_TIMEOUT_MS = 15_000


def test_a_run_that_passes_shows_its_certificate_and_the_form_again(journey, vendor_admin):
    page = journey.page
    version, run = running_version(vendor_admin)
    portal_sign_in(journey, vendor_admin)
    journey.goto(f"/portal/agents/{version.agent_id}/versions/1.0.0/")
    assert page.locator("#runs").get_attribute("data-active") == "true"
    assert "No certificate yet" in page.locator("#certificate").inner_text()
    assert page.get_by_role("button", name="Submit for certification").count() == 0
    page.get_by_label("Why are you yanking this version?").fill("half-typed reason")
    page.evaluate("window.stillThisPage = true")

    # What the pipeline leaves when the run passes.
    for stage in run.stages:
        CertificationResultFactory(run=run, test_suite=stage)
    run.status, run.progress, run.finished_at = "passed", 100, timezone.now()
    run.save(update_fields=["status", "progress", "finished_at"])
    version.certification_status, version.certified_at = "certified", timezone.now()
    version.save(update_fields=["certification_status", "certified_at"])
    certificate_for(run)

    page.get_by_role("button", name="Submit for certification").wait_for(
        timeout=FINISHED_TIMEOUT_MS
    )
    assert page.evaluate("window.stillThisPage") is True
    journey.check()
    assert page.locator("#runs .run-status").inner_text() == "passed"
    assert page.locator("#runs").get_attribute("data-active") == "false"
    assert page.get_by_role("link", name="Download the certificate").is_visible()
    assert page.locator("#version-badges .badge").first.inner_text() == "Certified"
    assert page.locator("#run-status").inner_text() == "Certification finished."
    assert (
        page.get_by_label("Why are you yanking this version?").input_value() == "half-typed reason"
    )
