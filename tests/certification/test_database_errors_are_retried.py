"""A database error (locked, connection lost) while a stage runs or the certificate is signed is
the platform's failure, not the package's: the task retries, instead of ending the stage or the
run as an error for good."""

from types import SimpleNamespace

import pytest
from django.db import InterfaceError, OperationalError

from certification import tasks
from certification.certificates.platform_keys import PlatformKeyError
from certification.models import Certificate, CertificationResult
from certification.pipeline import orchestration
from certification.pipeline.stages.base import StageOutcome
from tests.factories import CertificationRunFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def passed_stages():
    """A running run whose only stage passed: the verdict task signs its certificate."""
    run = CertificationRunFactory(
        stages=["validation"], status="running", progress=50, finished_at=None
    )
    CertificationResult.objects.create(run=run, test_suite="validation", test_result="pass")
    return run


def _failing_first(monkeypatch, error: Exception) -> list[int]:
    calls: list[int] = []
    real = orchestration.issue_certificate

    def flaky(run, results):
        calls.append(1)
        if len(calls) == 1:
            raise error
        return real(run, results)

    monkeypatch.setattr(orchestration, "issue_certificate", flaky)
    return calls


@pytest.mark.parametrize(
    "error",
    [OperationalError("database is locked"), InterfaceError("connection already closed")],
    ids=["locked", "connection_closed"],
)
def test_a_database_error_while_signing_is_retried_and_the_run_certified(
    passed_stages, monkeypatch, error
):
    calls = _failing_first(monkeypatch, error)

    # Eager apply runs the retry at once (no countdown).
    assert tasks.finalize_run.apply(args=(passed_stages.pk,)).get() == "passed"

    assert len(calls) == 2
    passed_stages.refresh_from_db()
    assert (passed_stages.status, passed_stages.error_detail) == ("passed", "")
    signing = passed_stages.results.get(test_suite="signing")
    assert (signing.test_result, signing.error_code) == ("pass", "")
    assert Certificate.objects.filter(run=passed_stages).count() == 1


def test_a_database_that_stays_unavailable_leaves_the_run_running_for_the_sweeper(
    passed_stages, monkeypatch
):
    def locked(run, results):
        raise OperationalError("database is locked")

    monkeypatch.setattr(orchestration, "issue_certificate", locked)

    with pytest.raises(OperationalError):
        tasks.finalize_run.apply(args=(passed_stages.pk,)).get()

    passed_stages.refresh_from_db()
    assert passed_stages.status == "running"
    assert not passed_stages.results.filter(test_suite="signing").exists()


def test_a_signing_error_that_is_not_the_database_still_ends_the_run(passed_stages, monkeypatch):
    calls = _failing_first(monkeypatch, PlatformKeyError("The active platform key expired."))

    assert tasks.finalize_run.apply(args=(passed_stages.pk,)).get() == "error"

    assert len(calls) == 1
    passed_stages.refresh_from_db()
    assert passed_stages.status == "error"
    assert passed_stages.error_detail == "signing failed: The active platform key expired."
    signing = passed_stages.results.get(test_suite="signing")
    assert (signing.test_result, signing.error_code) == ("error", "platform_key_unavailable")


def test_a_lost_database_connection_in_a_stage_is_retried_not_recorded_as_a_crash(
    passed_stages, monkeypatch
):
    calls: list[int] = []

    def stage(ctx):
        calls.append(1)
        if len(calls) == 1:
            raise InterfaceError("connection already closed")
        return StageOutcome("pass", logs="ok")

    monkeypatch.setattr(orchestration, "_load_context", lambda run: SimpleNamespace(package=1))
    monkeypatch.setattr(orchestration, "stage_function", lambda name: stage)

    assert tasks.run_stage.apply(args=(passed_stages.pk, "security")).get() == "pass"

    assert len(calls) == 2
    result = passed_stages.results.get(test_suite="security")
    assert (result.test_result, result.error_code) == ("pass", "")
