"""A reviewer works the queue in Chromium: signs in, reads every stage, approves or rejects."""

import pytest

from tests.browser.runs import failed_run_with_every_finding, passed_run
from tests.review.finding_kinds import FINDING_KINDS, STAGE_METRICS

pytestmark = pytest.mark.browser

RUNS = "/admin/certification/certificationrun/"


def _open_from_queue(journey, run) -> None:
    page = journey.page
    journey.click(page.get_by_role("link", name="Certification runs").first)
    journey.click(page.get_by_role("link", name="awaiting review"))
    journey.click(
        page.locator(f'a[href="{RUNS}{run.pk}/change/?_changelist_filters=queue%3Dreview"]')
    )
    assert page.url.startswith(f"{journey.base_url}{RUNS}{run.pk}/change/")


def _read_every_stage(journey) -> None:
    page = journey.page
    for stage in STAGE_METRICS:
        section = page.locator(f"#stage-{stage}")
        section.scroll_into_view_if_needed()
        assert section.is_visible()
        assert section.locator(".stage-metrics tr").count() > 1
        section.locator("summary", has_text="logs").click()
        assert section.locator(".stage-logs pre").is_visible()


def _decide(journey, button: str, reason: str) -> None:
    page = journey.page
    page.get_by_label("Reason (required, shown to the vendor):").fill(reason)
    journey.click(page.get_by_role("button", name=button))


def test_reviewer_approves_a_passed_run_and_customers_see_the_agent(
    journey, staff_user, member_client
):
    run = passed_run()
    reviewer = staff_user("reviewers")
    journey.sign_in(reviewer)
    _open_from_queue(journey, run)
    _read_every_stage(journey)
    warning = journey.page.locator("#stage-security .finding").first
    assert "the advisory database is empty" in warning.inner_text()
    assert "does not block" in warning.inner_text()

    _decide(journey, "Approve", "All stages pass; SBOM clean apart from the empty database.")

    page = journey.page
    assert page.url.startswith(f"{journey.base_url}{RUNS}{run.pk}/change/")
    assert page.locator(".messagelist .success").inner_text() == f"Run {run.pk} approved."
    assert page.locator(".field-review_status .readonly").inner_text() == "Approved"
    assert page.locator("#decision").count() == 0
    run.refresh_from_db()
    assert (run.review_status, run.reviewed_by) == ("approved", reviewer)
    customer, _ = member_client("operator")
    names = [a["name"] for a in customer.get("/api/v1/agents").json()["results"]]
    assert run.version.agent.name in names


def test_reviewer_rejects_a_passed_run_with_a_reason(journey, staff_user, member_client):
    run = passed_run()
    journey.sign_in(staff_user("reviewers"))
    _open_from_queue(journey, run)
    _read_every_stage(journey)

    _decide(journey, "Reject", "The declared arena is far below what the model needs.")

    page = journey.page
    assert page.locator(".messagelist .success").inner_text() == f"Run {run.pk} rejected."
    assert page.locator(".field-review_status .readonly").inner_text() == "Rejected"
    assert "far below what the model needs" in page.locator(".field-review_reason").inner_text()
    run.refresh_from_db()
    assert run.review_status == "rejected"
    customer, _ = member_client("operator")
    assert customer.get("/api/v1/agents").json()["count"] == 0


def test_reviewer_reads_every_kind_of_finding_on_a_failed_run(journey, staff_user):
    run = failed_run_with_every_finding()
    journey.sign_in(staff_user("reviewers"))
    journey.goto(f"{RUNS}{run.pk}/change/")
    _read_every_stage(journey)
    page = journey.page
    for name, kind in FINDING_KINDS.items():
        stage = page.locator(f"#stage-{kind.stage} .stage-findings")
        text = stage.inner_text()
        for shown in kind.shows:
            assert shown in text, f"{name}: {shown!r} not shown"
    assert page.locator("#decision").count() == 0  # nothing to decide on a failed run
    run.refresh_from_db()
    assert run.review_status == "pending"


def test_run_list_shows_the_review_column_at_1280_px(journey, staff_user):
    passed_run()
    journey.sign_in(staff_user("reviewers"))
    journey.goto(RUNS)
    page = journey.page
    header = page.locator("#result_list th.column-review")
    box = header.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 1280
    table = page.locator("#result_list").bounding_box()
    assert table["x"] + table["width"] <= page.locator("#changelist-filter").bounding_box()["x"]
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
