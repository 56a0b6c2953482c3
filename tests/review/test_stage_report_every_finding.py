"""A run's page shows every stage's figures and every kind of finding the stages emit."""

from types import SimpleNamespace

import pytest

from certification.pipeline.report import stage_view
from tests.factories import CertificationResultFactory, CertificationRunFactory
from tests.review.finding_kinds import FINDING_KINDS, STAGE_METRICS

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("kind", sorted(FINDING_KINDS))
def test_reviewer_reads_each_kind_of_finding(
    kind, make_staff, admin_client, visible_template_errors
):
    fixture = FINDING_KINDS[kind]
    run = CertificationRunFactory(status="failed")
    CertificationResultFactory(
        run=run,
        test_suite=fixture.stage,
        test_result="fail",
        findings=[fixture.finding],
        test_logs="stage log line",
    )
    page = admin_client(make_staff()).get(f"/admin/certification/certificationrun/{run.pk}/change/")
    html = page.content.decode()
    assert page.status_code == 200
    assert visible_template_errors not in html
    assert "Findings (1)" in html
    for text in fixture.shows:
        assert text.replace('"', "&quot;") in html, text


def test_every_stage_of_a_run_shows_its_figures_and_logs(
    make_staff, admin_client, visible_template_errors
):
    run = CertificationRunFactory(level="hardware")
    for stage, metrics in STAGE_METRICS.items():
        CertificationResultFactory(
            run=run, test_suite=stage, metrics=metrics, test_logs=f"{stage} log"
        )
    html = (
        admin_client(make_staff())
        .get(f"/admin/certification/certificationrun/{run.pk}/change/")
        .content.decode()
    )
    assert visible_template_errors not in html
    for stage in STAGE_METRICS:
        assert f'id="stage-{stage}"' in html
        assert f"{stage} log" in html
    assert "latency median us" in html and "127.6" in html
    assert "[10211, 10240, 10198]" in html


def test_the_steps_of_a_run_that_stopped_early_show_what_was_never_reached(
    make_staff, admin_client, visible_template_errors
):
    """As the portal, the API (``stage_states``), the CLI and the watch stream show them: the
    reviewer sees which stages a failed run never reached, not only the reports it has."""
    run = CertificationRunFactory(
        level="standard", status="failed", stages=["validation", "simulation", "safety"]
    )
    CertificationResultFactory(run=run, test_suite="validation", test_result="fail")
    page = admin_client(make_staff()).get(f"/admin/certification/certificationrun/{run.pk}/change/")
    html = page.content.decode()
    assert visible_template_errors not in html
    states = dict(run.stage_states())
    assert states == {"validation": "fail", "simulation": "skipped", "safety": "skipped"}
    for stage, state in states.items():
        assert f'data-stage="{stage}">{stage}: <strong>{state}</strong>' in html


def test_a_failed_budget_check_reads_failed_in_the_performance_figures():
    check = {"name": "arena_kb", "value": 40.0, "limit": 16, "unit": "KiB", "passed": False}
    result = SimpleNamespace(
        test_suite="performance",
        test_result="fail",
        test_duration_ms=12,
        error_code="budget_exceeded",
        metrics={"arena_bytes": 40960, "checks": [check]},
        findings=[check],
        test_logs="",
    )
    rows = {row.label: row.value for row in stage_view(result).metrics}
    assert rows == {
        "arena bytes": "40960",
        "arena kb check": "FAILED, 40.0 KiB against a limit of 16 KiB (measured)",
    }
