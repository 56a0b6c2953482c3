"""The admin's pages on a phone (390 px wide): the content takes the window's width. Before,
the rule that narrows the navigation beside a 1280 px list (static/edgeplug/admin.css) also
applied where Django hides the navigation, and held the content 224 px short of the window:
166 px at 390, the run's stage report cut off at its right edge (PASS read "PAS", findings
clipped mid-word) and the reviewer's reason box 134 px wide."""

import pytest
from playwright.sync_api import expect

from tests.browser.runs import passed_run
from tests.browser.test_portal_tables_on_a_phone import PHONE

pytestmark = [pytest.mark.browser]


def _width(locator) -> float:
    return locator.bounding_box()["width"]


def test_a_run_reads_whole_and_is_decided_on_a_phone(journey, staff_user):
    run = passed_run()
    journey.sign_in(staff_user("reviewers"))
    page = journey.page
    page.set_viewport_size(PHONE)
    journey.goto(f"/admin/certification/certificationrun/{run.pk}/change/")

    assert _width(page.locator("#content")) >= 340
    verdict = page.locator("#stage-security").get_by_text("PASS", exact=True)
    verdict.scroll_into_view_if_needed()
    expect(verdict).to_be_in_viewport(ratio=1)
    report = page.locator(".field-stage_report").first
    assert report.evaluate("e => e.scrollWidth <= e.clientWidth"), "the stage report is cut off"
    assert _width(page.get_by_label("Reason (required, shown to the vendor):")) >= 300
