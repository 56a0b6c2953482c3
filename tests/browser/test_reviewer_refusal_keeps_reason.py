"""A refused decision keeps the reason the reviewer typed, in Chromium: the change page comes
back with the refusal over the decision form as it was sent (before, the reason box came back
empty), once only: the page loaded again offers an empty form. A run's only refusal that
leaves its form to try again is a blank reason (a workflow package's also ``agents_not_certified``,
test_reviewer_decides_workflow_packages); after one nothing typed gets past, the page says
why where the form was."""

import pytest

from tests.browser.runs import passed_run
from tests.browser.test_reviewer_decides_in_the_browser import RUNS, _decide
from tests.factories import MembershipFactory

pytestmark = pytest.mark.browser

REASON_LABEL = "Reason (required, shown to the vendor):"


def test_a_refused_decision_keeps_the_reason_typed(journey, staff_user):
    reviewer = staff_user("reviewers")
    run = passed_run()
    reason = "  \n  "
    journey.sign_in(reviewer)
    journey.goto(f"{RUNS}{run.pk}/change/")
    page = journey.page

    _decide(journey, "Approve", reason)

    assert page.url.startswith(f"{journey.base_url}{RUNS}{run.pk}/change/")
    assert page.locator(".messagelist .error").inner_text() == "A decision needs a reason."
    assert page.get_by_label(REASON_LABEL).input_value() == reason
    run.refresh_from_db()
    assert (run.review_status, run.reviewed_by) == ("pending", None)

    journey.goto(f"{RUNS}{run.pk}/change/")  # kept for the page that showed the refusal only
    assert page.get_by_label(REASON_LABEL).input_value() == ""


def test_a_refusal_nothing_typed_gets_past_says_why_where_the_form_was(journey, staff_user):
    reviewer = staff_user("reviewers")
    run = passed_run()
    journey.sign_in(reviewer)
    journey.goto(f"{RUNS}{run.pk}/change/")
    page = journey.page
    # The reviewer is made a member of the run's tenant while the page is open: the form
    # was offered, the decision is refused on submit (own_tenant_review).
    MembershipFactory(user=reviewer, tenant=run.tenant, role="developer")

    _decide(journey, "Approve", "All stages pass.")

    own_tenant = "You cannot review a package of a tenant you belong to."
    assert page.locator(".messagelist .error").inner_text() == own_tenant
    assert page.locator("#decide-refusal").inner_text() == (
        f"This run cannot be decided: {own_tenant}"
    )
    assert page.get_by_label(REASON_LABEL).count() == 0
    run.refresh_from_db()
    assert (run.review_status, run.reviewed_by) == ("pending", None)
