"""A page of the admin a staff user's groups do not open answers 403 in the admin's frame, in
Chromium: the EdgePlug admin header, why when the refusal says it, and the way back to the
admin's home page. Before, the browser showed Django's bare "403 Forbidden"."""

import pytest

from edgeplug.audit.models import AuditEvent

pytestmark = pytest.mark.browser

EXPORTS = "/admin/billing/finance/exports/"


def _refused(journey, path: str):
    journey.expect_status(403, path)
    assert journey.goto(path).status == 403
    page = journey.page
    assert page.locator("#site-name").inner_text() == "EdgePlug administration"
    assert page.locator("h1").inner_text() == "Not allowed"
    return page


def test_a_reviewer_on_a_finance_page_reads_why_and_goes_back(journey, staff_user):
    reviewer = staff_user("reviewers")
    journey.sign_in(reviewer)
    page = _refused(journey, EXPORTS)

    assert page.locator("#forbidden-detail").inner_text() == (
        "Finance pages are for the finance group."
    )
    assert page.locator("#user-tools").get_by_role("button", name="Log out").count() == 1
    journey.click(page.get_by_role("link", name="Back to the admin's home page"))
    assert page.url == f"{journey.base_url}/admin/"
    # Audited as before: one denial, with what the refusal said.
    [denial] = AuditEvent.objects.filter(action="permission_denied")
    assert (denial.actor, denial.target) == (reviewer, f"GET {EXPORTS}")
    assert denial.details["detail"] == "Finance pages are for the finance group."


def test_a_refusal_that_gives_no_reason_says_so_plainly(journey, staff_user):
    journey.sign_in(staff_user("finance"))
    page = _refused(journey, "/admin/accounts/user/add/")

    assert page.locator("#forbidden-detail").inner_text() == (
        "You may not open this page or do this."
    )
    journey.click(page.locator(".breadcrumbs").get_by_role("link", name="Home"))
    assert page.url == f"{journey.base_url}/admin/"
