"""A run's admin page reads its stage reports in the order of its stage list, signing last,
and the performance stage's budget checks as a row each, in Chromium. Before, the reports
came in the order the stages finished (validation, performance, security, invariants,
signing: independent stages run in parallel) and the checks as one raw JSON cell."""

import pytest

from tests.factories import AgentVersionFactory, CertificationResultFactory, CertificationRunFactory
from tests.review.finding_kinds import STAGE_METRICS

pytestmark = pytest.mark.browser

RUNS = "/admin/certification/certificationrun/"
FINISHED = ["validation", "performance", "security", "invariants", "signing"]


def _run_finished_out_of_order():
    """A standard run whose stages finished as parallel stages do, then its signing."""
    version = AgentVersionFactory(certified=True)
    run = CertificationRunFactory(version=version, level="standard")
    checks = [
        {"name": "arena_kb", "value": 6.0, "limit": 16, "unit": "KiB", "passed": True},
        {
            "name": "latency_vs_gate",
            "value": 81.25,
            "limit": 500,
            "unit": "us",
            "passed": True,
            "label": "estimate",
        },
    ]
    for stage in FINISHED:
        metrics = dict(STAGE_METRICS.get(stage, {"key_id": "platform-2026"}))
        if stage == "performance":
            metrics["checks"] = checks
        CertificationResultFactory(run=run, test_suite=stage, metrics=metrics)
    return run


def _open(journey, staff_user):
    run = _run_finished_out_of_order()
    journey.sign_in(staff_user("reviewers"))
    journey.goto(f"{RUNS}{run.pk}/change/")
    return journey.page


def test_reports_follow_the_stage_list_signing_last(journey, staff_user):
    page = _open(journey, staff_user)
    steps = page.locator(".stage-steps li").evaluate_all("els => els.map(e => e.dataset.stage)")
    assert steps == ["validation", "invariants", "performance", "security"]
    reports = page.locator(".stage-report").evaluate_all("els => els.map(e => e.id)")
    assert reports == [f"stage-{stage}" for stage in [*steps, "signing"]]


def test_performance_checks_read_as_a_row_each(journey, staff_user):
    page = _open(journey, staff_user)
    rows = page.locator("#stage-performance .stage-metrics tbody tr")
    figures = dict(
        zip(
            rows.locator("td:first-child").all_inner_texts(),
            rows.locator("td:last-child").all_inner_texts(),
            strict=True,
        )
    )
    assert figures["arena kb check"] == "passed, 6.0 KiB against a limit of 16 KiB (measured)"
    assert figures["latency vs gate check"] == (
        "passed, 81.25 us against a limit of 500 us (estimate)"
    )
    assert "checks" not in figures
    assert "{" not in page.locator("#stage-performance .stage-metrics").inner_text()
