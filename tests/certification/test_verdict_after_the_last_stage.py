"""The verdict comes once the last parallel stage is recorded, whichever delivery of it
finishes: a worker killed after recording the last stage but before the verdict was queued
leaves the stage's message unacknowledged, and its redelivery (which finds the result
recorded) queues the verdict. With a chord, that redelivery could not: the callback is
published once, by the task that completes the count."""

from types import SimpleNamespace

import pytest

from certification import tasks
from certification.models import CertificationResult, CertificationRun
from certification.pipeline import orchestration
from certification.pipeline.stages.base import StageOutcome
from tests.factories import CertificationRunFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def running():
    """A basic run at its parallel stages: validation and invariants recorded, performance
    not yet."""
    run = CertificationRunFactory(running=True, level="basic")
    assert run.stages == ["validation", "invariants", "performance"]
    for stage in ("validation", "invariants"):
        CertificationResult.objects.create(run=run, test_suite=stage, test_result="pass")
    return run


def _status(run) -> str:
    return CertificationRun.objects.get(pk=run.pk).status


def test_a_stage_that_is_not_the_last_leaves_the_run_running(running, eager_celery):
    assert tasks.run_stage.apply(args=(running.pk, "invariants")).get() == "pass"
    assert _status(running) == "running"


def test_a_redelivered_last_stage_queues_the_verdict(running, eager_celery):
    # The first delivery recorded the stage and its worker died before anything else.
    CertificationResult.objects.create(run=running, test_suite="performance", test_result="pass")
    assert _status(running) == "running"

    assert tasks.run_stage.apply(args=(running.pk, "performance")).get() == "pass"

    run = CertificationRun.objects.get(pk=running.pk)
    assert run.status == "passed"
    assert sorted(run.results.values_list("test_suite", flat=True)) == [
        "invariants",
        "performance",
        "signing",
        "validation",
    ]
    assert run.certificate.version_id == run.version_id


def test_a_stage_delivered_after_the_verdict_changes_nothing(running, eager_celery):
    CertificationResult.objects.create(run=running, test_suite="performance", test_result="fail")
    tasks.run_stage.apply(args=(running.pk, "performance")).get()
    assert _status(running) == "failed"

    tasks.run_stage.apply(args=(running.pk, "performance")).get()
    run = CertificationRun.objects.get(pk=running.pk)
    assert (run.status, run.results.count()) == ("failed", 3)


def test_a_stage_that_ends_after_the_run_was_judged_records_nothing(
    running, eager_celery, monkeypatch
):
    """The run was judged while the stage ran (its errback after another delivery died, or
    the stale-run sweep): its result came after and was written all the same, so a run in
    error for "stages without a result: performance" showed performance passed, at 75%."""

    def judged_meanwhile(ctx):
        assert orchestration.finalize_run(ctx.run_id) == "error"
        return StageOutcome("pass")

    monkeypatch.setattr(orchestration, "stage_function", lambda stage: judged_meanwhile)
    # The run's factory stored no package: the stage reads none.
    context = SimpleNamespace(run_id=running.pk, package=object())
    monkeypatch.setattr(orchestration, "_load_context", lambda run: context)
    assert tasks.run_stage.apply(args=(running.pk, "performance")).get() == "finished"
    run = CertificationRun.objects.get(pk=running.pk)
    assert (run.status, run.progress) == ("error", 100)
    assert "performance" in run.error_detail
    assert not run.results.filter(test_suite="performance").exists()
