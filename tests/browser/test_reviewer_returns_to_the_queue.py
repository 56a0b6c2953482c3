"""A reviewer who opened a run from the "awaiting review" queue (or a package from the pending
ones) and decides it goes back to that queue with "Close", in Chromium: the decision keeps the
change list's filters (``_changelist_filters``) through its redirect, refused or not. Before,
the page after the decision had lost them and "Close" led to the full list."""

import pytest

from tests.browser.runs import passed_run
from tests.browser.test_reviewer_decides_in_the_browser import RUNS, _decide, _open_from_queue
from tests.factories import AgentVersionFactory, WorkflowPackageFactory

pytestmark = pytest.mark.browser

QUEUE = "queue=review"
WPKS = "/admin/marketplace/workflowpackage/"


def _close(journey) -> None:
    journey.click(journey.page.get_by_role("link", name="Close"))


def test_after_deciding_a_run_close_returns_to_the_awaiting_review_queue(journey, staff_user):
    run, waiting = passed_run(), passed_run()
    rejected = passed_run()
    rejected.review_status = "rejected"
    rejected.save(update_fields=["review_status"])
    journey.sign_in(staff_user("reviewers"))
    page = journey.page
    _open_from_queue(journey, run)

    _decide(journey, "Approve", "")  # refused: no reason; the page keeps the queue
    assert page.locator(".messagelist .error").inner_text() == "A decision needs a reason."
    assert page.url.endswith(f"{RUNS}{run.pk}/change/?_changelist_filters=queue%3Dreview")
    _decide(journey, "Approve", "All stages pass.")
    assert page.locator(".messagelist .success").inner_text() == f"Run {run.pk} approved."
    assert page.url.endswith(f"{RUNS}{run.pk}/change/?_changelist_filters=queue%3Dreview")

    _close(journey)
    assert page.url == f"{journey.base_url}{RUNS}?{QUEUE}"
    ids = page.locator("#result_list td.field-id, #result_list th.field-id").all_inner_texts()
    assert ids == [str(waiting.pk)]  # the queue: neither the approved run nor the rejected one


def test_after_deciding_a_package_close_returns_to_the_pending_ones(journey, staff_user):
    version = AgentVersionFactory(public=True)
    steps = [{"agent": f"{version.tenant.slug}/{version.agent.name}", "version": version.version}]
    package = WorkflowPackageFactory(
        tenant=version.tenant, name="bottling-line", content={"steps": steps}
    )
    WorkflowPackageFactory(tenant=version.tenant, name="capping-line", status="approved")
    journey.sign_in(staff_user("reviewers"))
    page = journey.page
    journey.goto(f"{WPKS}?status__exact=pending")
    journey.click(page.locator(f'#result_list a[href^="{WPKS}{package.pk}/change/"]'))

    _decide(journey, "Reject", "The capper runs before the filler.")
    assert page.locator(".messagelist .success").inner_text() == (
        "Workflow package bottling-line@1.0.0 rejected."
    )
    _close(journey)
    assert page.url == f"{journey.base_url}{WPKS}?status__exact=pending"
    assert page.locator("#result_list td.field-name").count() == 0
    assert "0 workflow packages" in page.locator("#changelist").inner_text()
