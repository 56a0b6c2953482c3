"""A refused decision keeps the reason the reviewer typed, in Chromium: the change page comes
back with the refusal over the decision form as it was sent (before, the reason box came back
empty), once only: the page loaded again offers an empty form."""

import pytest

from tests.browser.runs import passed_run
from tests.browser.test_reviewer_decides_in_the_browser import RUNS, _decide
from tests.factories import MembershipFactory

pytestmark = pytest.mark.browser

REASON_LABEL = "Reason (required, shown to the vendor):"


def test_a_refused_decision_keeps_the_reason_typed(journey, staff_user):
    reviewer = staff_user("reviewers")
    run = passed_run()
    # The reviewer belongs to the run's tenant: own_tenant_review, refused on submit only.
    MembershipFactory(user=reviewer, tenant=run.tenant, role="developer")
    reason = "All stages pass.\nSBOM clean apart from the empty advisory database."
    journey.sign_in(reviewer)
    journey.goto(f"{RUNS}{run.pk}/change/")
    page = journey.page

    _decide(journey, "Approve", reason)

    assert page.url.startswith(f"{journey.base_url}{RUNS}{run.pk}/change/")
    refusal = page.locator(".messagelist .error").inner_text()
    assert "You cannot review a package of a tenant you belong to." in refusal
    assert page.get_by_label(REASON_LABEL).input_value() == reason
    run.refresh_from_db()
    assert (run.review_status, run.reviewed_by) == ("pending", None)

    journey.goto(f"{RUNS}{run.pk}/change/")  # kept for the page that showed the refusal only
    assert page.get_by_label(REASON_LABEL).input_value() == ""
