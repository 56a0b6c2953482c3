"""When things outside the model go wrong: a broker that refuses the run, storage that keeps
failing, a sandbox that cannot start, a reviewer deciding on a superseded run, and inputs that
must be 4xx, not 500."""

from importlib import import_module

import pytest
from django.contrib.auth.models import Group

from certification import tasks
from certification.errors import NotReviewable
from certification.models import CertificationRun
from certification.pipeline import actions, orchestration
from certification.pipeline.levels import thresholds_for
from certification.pipeline.stages.base import InfrastructureError, StageContext
from certification.tflm import sandbox
from edgeplug.audit.models import AuditEvent
from edgeplug.tenancy.services import NotAReviewer
from marketplace.models import AgentVersion
from marketplace.packageformat import inspect_package
from marketplace.storage import package_limits
from tests.certification.conftest import model_package
from tests.factories import CertificationRunFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.django_db(transaction=True)  # on_commit fires at the real commit, as in production
def test_a_broker_outage_ends_the_run_as_an_error_and_allows_a_resubmission(vendor, monkeypatch):
    version_id = vendor.upload(model_package()).json()["version"]["id"]

    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(tasks.start_run, "apply_async", refuse)
    response = vendor.client.post(
        "/api/v1/certification/submit", {"version_id": version_id}, format="json"
    )
    assert response.status_code == 503, response.json()
    run = CertificationRun.objects.get(pk=response.json()["run_id"])
    assert (run.status, run.error_code) == ("error", "broker_unavailable")
    # Audited as every end of a run is (it ended with no event after certification_submitted).
    ended = AuditEvent.objects.get(action="certification_error")
    assert ended.details["run"] == run.pk and ended.details["code"] == "broker_unavailable"
    assert response.json() == {
        "code": "broker_unavailable",
        "detail": f"Run {run.pk} could not be queued (the task queue did not accept the run: "
        "ConnectionRefusedError); submit it again shortly.",
        "run_id": run.pk,
        "retry_after": 5,
    }
    assert response["Retry-After"] == "5"  # as every 503 a client may retry (before: none)

    sent = []
    monkeypatch.setattr(
        tasks.start_run, "apply_async", lambda args, kwargs=None, **options: sent.append(args[0])
    )
    again = vendor.client.post(
        "/api/v1/certification/submit", {"version_id": version_id}, format="json"
    )
    assert again.status_code == 202 and sent == [again.json()["run_id"]]


@pytest.mark.django_db(transaction=True)  # on_commit fires at the real commit, as in production
def test_an_upload_asking_for_certification_while_the_broker_is_down_keeps_the_package_and_says_why(
    vendor, monkeypatch
):
    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(tasks.start_run, "apply_async", refuse)
    response = vendor.upload(model_package(), certify="true", level="basic")
    assert response.status_code == 201, response.json()
    run = CertificationRun.objects.get(version_id=response.json()["version"]["id"])
    assert (run.status, run.error_code) == ("error", "broker_unavailable")
    assert response.json()["certification_run"] == run.pk
    assert response.json()["certification_error"] == {
        "code": "broker_unavailable",
        "detail": f"Run {run.pk} could not be queued (the task queue did not accept the run: "
        "ConnectionRefusedError); submit it again shortly.",
    }


def test_storage_that_keeps_failing_ends_the_stage_as_an_infrastructure_error(
    vendor, monkeypatch, django_capture_on_commit_callbacks
):
    version = AgentVersion.objects.get(pk=vendor.upload(model_package()).json()["version"]["id"])
    with django_capture_on_commit_callbacks(execute=False):
        run = actions.submit_for_certification(version, "basic")
    calls = []

    def unreadable(run):
        calls.append(1)
        raise InfrastructureError("bucket unreachable")

    monkeypatch.setattr(orchestration, "_load_context", unreadable)
    # Eager apply runs every retry at once (no countdown); the last one gives up cleanly.
    assert tasks.run_stage.apply(args=(run.pk, "validation")).get() == "error"
    assert len(calls) == tasks.STAGE_MAX_RETRIES + 1
    result = run.results.get(test_suite="validation")
    assert (result.test_result, result.error_code) == ("error", "infrastructure_error")
    assert "bucket unreachable" in result.test_logs
    assert orchestration.finalize_run(run.pk) == "error"


def test_a_superseded_run_cannot_be_decided(vendor, certify):
    data = model_package()
    old = certify(data)
    new = certify(data)  # the same version, certified again
    assert old.version_id == new.version_id and old.pk != new.pk
    reviewer = UserFactory(is_staff=True)
    reviewer.groups.add(Group.objects.get(name="reviewers"))

    with pytest.raises(NotReviewable, match="superseded"):
        actions.review_run(old, approve=True, reason="looks fine", reviewer=reviewer)
    assert AgentVersion.objects.get(pk=old.version_id).review_status == "pending"
    actions.review_run(new, approve=True, reason="all stages pass", reviewer=reviewer)
    assert AgentVersion.objects.get(pk=new.version_id).review_status == "approved"


def test_queue_age_filter_out_of_range_is_a_400(vendor):
    response = vendor.client.get("/api/v1/certification/queue", {"older_than_hours": "1e12"})
    assert response.status_code == 400, response.content


@pytest.mark.parametrize(
    ("body", "code"),
    [("[" * 5000 + "]" * 5000, "malformed_json"), ('{"level": "basic\\u0000"}', "nul_character")],
)
def test_deep_or_nul_json_is_refused_with_its_code(vendor, body, code):
    response = vendor.client.post(
        "/api/v1/certification/submit", body, content_type="application/json"
    )
    assert (response.status_code, response.json()["code"]) == (400, code)


def test_a_manifest_with_nul_is_refused_and_nothing_is_stored(vendor):
    response = vendor.upload(model_package(description="pump\u0000guard"))
    assert (response.status_code, response.json()["code"]) == (422, "nul_character")
    assert AgentVersion.objects.count() == 0


@pytest.mark.parametrize("stage", ["validation", "invariants", "performance", "simulation"])
def test_a_sandbox_that_cannot_start_is_retried_by_every_stage_not_failed(stage, monkeypatch):
    """The model sandbox's child could not start (here: no interpreter at sys.executable):
    the machine's fault, so each stage that runs the model raises InfrastructureError, which
    the task retries, instead of failing the vendor's run (the hardware stage failed it)."""
    data = model_package(firmware=b"\x7fELF" + bytes(60))
    context = StageContext(
        run_id=0,
        level="hardware",
        thresholds=thresholds_for("hardware"),
        digest="0" * 64,
        package_bytes=data,
        package=inspect_package(data, package_limits()),
    )
    monkeypatch.setattr(sandbox.sys, "executable", "/nonexistent/python3")

    with pytest.raises(InfrastructureError, match="cannot start the child"):
        import_module(f"certification.pipeline.stages.{stage}").run(context)


@pytest.mark.parametrize("group", [None, "finance"])
def test_only_a_reviewer_decides_a_run_whichever_door_calls_the_action(group):
    """The admin's decide view checks the group before it calls ``review_run``; the action holds
    the rule itself, so a door added later (an API, a command) cannot decide without it."""
    run = CertificationRunFactory()
    staff = UserFactory(is_staff=True)
    if group:
        staff.groups.add(Group.objects.get(name=group))

    with pytest.raises(NotAReviewer):
        actions.review_run(run, approve=True, reason="looks fine", reviewer=staff)
    run.refresh_from_db()
    assert (run.review_status, run.version.review_status) == ("pending", "pending")
    assert not AuditEvent.objects.filter(action="certification_approved").exists()
