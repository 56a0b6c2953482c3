"""Decisions the rules refuse: the reviewer reads why on the page and nothing changes. A run
the reviewer cannot decide whatever they type (a tenant they belong to, superseded, yanked)
says why where the form would be, instead of offering one every click of which is refused."""

import pytest

from certification.models import CertificationRun
from tests.browser.runs import passed_run, yank
from tests.factories import CertificationRunFactory, MembershipFactory

pytestmark = pytest.mark.browser

RUNS = "/admin/certification/certificationrun/"


def _own_tenant(reviewer):
    run = passed_run()
    MembershipFactory(user=reviewer, tenant=run.tenant, role="developer")
    return run, "You cannot review a package of a tenant you belong to."


def _not_newest(reviewer):
    older = passed_run()
    newer = CertificationRunFactory(version=older.version, status="running")
    return older, f"Run {older.pk} was superseded by run {newer.pk} of the same version"


def _yanked(reviewer):
    run = passed_run()
    yank(run)
    return run, "was yanked by its vendor; it cannot be decided."


def _unchanged(run) -> None:
    run = CertificationRun.objects.select_related("version").get(pk=run.pk)
    assert (run.review_status, run.reviewed_by, run.version.review_status) == (
        "pending",
        None,
        "pending",
    )


def test_refused_decision_is_explained_and_changes_nothing(journey, staff_user):
    run = passed_run()
    reviewer = staff_user("reviewers")
    journey.sign_in(reviewer)
    journey.goto(f"{RUNS}{run.pk}/change/")
    page = journey.page
    page.get_by_label("Reason (required, shown to the vendor):").fill("")
    journey.click(page.get_by_role("button", name="Approve"))

    assert page.url.startswith(f"{journey.base_url}{RUNS}{run.pk}/change/")
    assert "A decision needs a reason." in page.locator(".messagelist .error").inner_text()
    assert page.locator(".field-review_status .readonly").inner_text() == "Pending"
    _unchanged(run)


@pytest.mark.parametrize(
    "setup", [_own_tenant, _not_newest, _yanked], ids=["own-tenant", "not-newest", "yanked-version"]
)
def test_a_run_that_cannot_be_decided_says_why_instead_of_a_form(journey, staff_user, setup):
    """A run of a tenant the reviewer belongs to is not theirs to decide; a superseded run,
    or one of a yanked version, is no longer in the queue. Opened anyway, its page says why
    where the decision would be, and offers no form."""
    reviewer = staff_user("reviewers")
    run, message = setup(reviewer)
    journey.sign_in(reviewer)
    journey.goto(f"{RUNS}{run.pk}/change/")
    page = journey.page
    assert message in page.locator("#decide-refusal").inner_text()
    assert page.get_by_role("button", name="Approve").count() == 0
    _unchanged(run)
