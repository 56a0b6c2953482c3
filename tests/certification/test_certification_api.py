"""The certification API: submit, follow a run, the queue, PUT /agents/{id}/certify, the
certificate endpoint, tenant isolation and the stale-run sweeper."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from certification.models import CertificationRun, StageAttempt
from certification.pipeline import actions
from edgeplug.audit.models import AuditEvent
from edgeplug.certificates import CertificateInvalid, verify_certificate
from marketplace.models import AgentVersion
from tests.certification.conftest import model_package
from tests.factories import (
    AgentVersionFactory,
    CertificationResultFactory,
    CertificationRunFactory,
    certificate_for,
)
from tests.openapi_conformance import assert_documented

pytestmark = pytest.mark.django_db


@pytest.fixture
def uploaded(vendor):
    return vendor.upload(model_package()).json()


@pytest.fixture
def reviewer(staff_client):
    return staff_client("reviewers")


@pytest.fixture
def submit(django_capture_on_commit_callbacks):
    """submit(client, **body) -> (response, the on-commit callbacks it left, not run)."""

    def post(client, **body):
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            response = client.post("/api/v1/certification/submit", body, format="json")
        return response, callbacks

    return post


def test_submit_answers_202_and_enqueues_after_commit(vendor, uploaded, submit):
    response, callbacks = submit(
        vendor.client, version_id=uploaded["version"]["id"], level="standard"
    )
    assert response.status_code == 202, response.json()
    assert_documented(response, "POST /api/v1/certification/submit")
    body = response.json()
    assert (body["status"], body["level"]) == ("queued", "standard")
    assert len(callbacks) == 1  # the Celery task is sent only once the run row is committed

    run = vendor.client.get(body["url"]).json()
    assert run["stages"] == ["validation", "invariants", "performance", "security"]
    assert (run["status"], run["progress"], run["results"]) == ("queued", 0, [])
    assert run["certificate_url"] is None


def test_submit_by_agent_and_version_and_its_errors(vendor, uploaded, submit):
    ok, _ = submit(vendor.client, agent_id=uploaded["agent"]["id"], version="1.0.0")
    assert ok.status_code == 202 and ok.json()["level"] == "basic"
    again, _ = submit(vendor.client, version_id=uploaded["version"]["id"])
    assert (again.status_code, again.json()["code"]) == (409, "run_in_progress")

    bad_level, _ = submit(vendor.client, version_id=uploaded["version"]["id"], level="platinum")
    # The action's own refusal, as the portal and an upload that certifies get it.
    assert bad_level.status_code == 400 and bad_level.json()["code"] == "invalid_level"
    # Checked before the version is looked for, as the upload checks it before storing.
    nowhere, _ = submit(vendor.client, version_id=999999, level="platinum")
    assert (nowhere.status_code, nowhere.json()["code"]) == (400, "invalid_level")

    neither, _ = submit(vendor.client, level="basic")
    assert neither.status_code == 400

    missing, _ = submit(vendor.client, version_id=999999)
    assert (missing.status_code, missing.json()["code"]) == (400, "unknown_version")
    assert missing.json()["field"] == "version_id"


def test_a_body_naming_a_version_twice_names_one_or_is_refused(vendor, uploaded, submit):
    """The schema's anyOf takes both groups: the run was queued for version_id's, the other
    pair never read, even where it named another version or none."""
    by_id = {"version_id": uploaded["version"]["id"], "agent_id": uploaded["agent"]["id"]}
    for version in ("9.9.9", "1.0.1"):
        if version == "1.0.1":
            assert vendor.upload(model_package(version="1.0.1")).status_code == 201
        other, callbacks = submit(vendor.client, **by_id, version=version)
        expected = "versions_differ" if version == "1.0.1" else "unknown_version"
        assert (other.status_code, other.json()["code"]) == (400, expected), other.json()
        assert not callbacks and not CertificationRun.objects.exists()
    same, _ = submit(vendor.client, **by_id, version="1.0.0")
    assert (
        same.status_code == 202 and CertificationRun.objects.get().version_id == by_id["version_id"]
    )


def test_other_tenants_cannot_submit_or_see_runs(
    vendor, make_vendor, member_client, uploaded, submit
):
    rival = make_vendor(slug="rival-robotics")
    stolen, _ = submit(rival.client, version_id=uploaded["version"]["id"])
    assert (stolen.status_code, stolen.json()["code"]) == (400, "unknown_version")

    customer, _ = member_client("admin")
    refused, _ = submit(customer, version_id=uploaded["version"]["id"])
    assert refused.status_code in (403, 404)
    assert CertificationRun.objects.count() == 0

    mine, _ = submit(vendor.client, version_id=uploaded["version"]["id"])
    run_url = mine.json()["url"]
    assert rival.client.get(run_url).status_code == 404
    assert customer.get(run_url).status_code == 404
    assert rival.client.get("/api/v1/certification/queue").json()["count"] == 0


def test_queue_reviewers_see_all_vendors_their_own(make_vendor, reviewer, submit):
    first = make_vendor()
    second = make_vendor(slug="rival-robotics")
    runs = {}
    for who in (first, second):
        data = model_package(vendor=who.tenant.slug)
        version_id = who.upload(data).json()["version"]["id"]
        response, _ = submit(who.client, version_id=version_id)
        runs[who.tenant.slug] = response.json()["run_id"]

    own = first.client.get("/api/v1/certification/queue").json()
    assert [r["id"] for r in own["results"]] == [runs["acme-robotics"]]
    everything = reviewer.get("/api/v1/certification/queue").json()
    assert {r["id"] for r in everything["results"]} == set(runs.values())
    filtered = reviewer.get("/api/v1/certification/queue", {"vendor": "rival-robotics"}).json()
    assert [r["id"] for r in filtered["results"]] == [runs["rival-robotics"]]


@pytest.mark.parametrize("query", ["vendor=", "vendor=%20", "vendor=+", "vendor=%09%20", "level="])
def test_queue_vendor_or_level_given_empty_is_a_400_not_every_vendor(reviewer, query):
    """?vendor= names a tenant: given empty, or only blanks, it listed every vendor's runs
    (200), where ?vendor=nobody is 400 unknown_vendor and ?level= is 400 blank."""
    response = reviewer.get(f"/api/v1/certification/queue?{query}")
    assert (response.status_code, response.json()["code"]) == (400, "blank")
    assert list(response.json()["errors"]) == [query.partition("=")[0]]


def test_put_certify_takes_the_newest_version_or_the_one_named(
    vendor, django_capture_on_commit_callbacks
):
    for version in ("1.0.0", "1.10.0", "1.2.0"):
        agent_id = vendor.upload(model_package(version=version)).json()["agent"]["id"]
    url = f"/api/v1/agents/{agent_id}/certify"
    with django_capture_on_commit_callbacks(execute=False):
        newest = vendor.client.put(url, {"level": "basic"}, format="json")
        named = vendor.client.put(url, {"level": "basic", "version": "1.2.0"}, format="json")
        unknown = vendor.client.put(url, {"level": "basic", "version": "9.9.9"}, format="json")
    assert newest.status_code == 202, newest.json()
    assert_documented(newest, "PUT /api/v1/agents/{id}/certify")
    assert vendor.client.get(newest.json()["url"]).json()["version"] == "1.10.0"
    assert vendor.client.get(named.json()["url"]).json()["version"] == "1.2.0"
    assert (unknown.status_code, unknown.json()["code"]) == (400, "unknown_version")


def test_certificate_endpoint_before_and_after_a_passing_run(
    vendor, member_client, uploaded, eager_celery, django_capture_on_commit_callbacks
):
    agent_id, version = uploaded["agent"]["id"], uploaded["version"]["version"]
    url = f"/api/v1/agents/{agent_id}/versions/{version}/certificate"
    missing = vendor.client.get(url)
    assert (missing.status_code, missing.json()["code"]) == (404, "not_certified")

    with django_capture_on_commit_callbacks(execute=True):  # the canvas runs eagerly
        response = vendor.client.post(
            "/api/v1/certification/submit",
            {"version_id": uploaded["version"]["id"]},
            format="json",
        )
    run = CertificationRun.objects.get(pk=response.json()["run_id"])
    assert run.status == "passed"
    detail = vendor.client.get(response.json()["url"]).json()
    assert detail["certificate_url"] == f"/api/v1/certification/{run.pk}/certificate"
    assert detail["progress"] == 100
    assert vendor.client.get(detail["certificate_url"]).json() == run.certificate.document()

    document = vendor.client.get(url).json()
    keyset = Client().get("/.well-known/edgeplug/keys.json").json()
    verified = verify_certificate(document, keyset)
    assert verified.payload["level"] == "basic"
    assert [s["stage"] for s in verified.payload["stages"]] == [
        "invariants",
        "performance",
        "validation",
    ]
    # Unapproved versions stay invisible to customers, certificate included.
    customer, _ = member_client("admin")
    assert customer.get(url).status_code == 404


def test_a_runs_certificate_url_is_its_own_certificate_not_the_versions_newest(vendor):
    """Two passed runs of one version: each run's link serves the certificate that run
    issued, while the version's endpoint serves the newer one."""
    version = AgentVersionFactory(agent__tenant=vendor.tenant, certified=True)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        first = CertificationRunFactory(version=version)
        first_certificate = certificate_for(first)
        clock.shift(timedelta(hours=1))
        second = CertificationRunFactory(version=version, level="standard")
        second_certificate = certificate_for(second)
    link = vendor.client.get(f"/api/v1/certification/{first.pk}").json()["certificate_url"]
    issued = vendor.client.get(link)
    assert issued.json() == first_certificate.document()
    assert_documented(issued, "GET /api/v1/certification/{id}/certificate")
    newest = f"/api/v1/agents/{version.agent_id}/versions/{version.version}/certificate"
    vouching = vendor.client.get(newest)
    assert vouching.json() == second_certificate.document()
    assert_documented(vouching, "GET /api/v1/agents/{agent_id}/versions/{version}/certificate")
    unsigned = CertificationRunFactory(version=version, status="failed")
    assert (
        vendor.client.get(f"/api/v1/certification/{unsigned.pk}").json()["certificate_url"] is None
    )
    missing = vendor.client.get(f"/api/v1/certification/{unsigned.pk}/certificate")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_certified")


def test_tampered_certificate_fails_offline_verification(vendor, uploaded, certify):
    run = certify(model_package(version="1.0.1"))
    document = run.certificate.document()
    keyset = Client().get("/.well-known/edgeplug/keys.json").json()
    document["certificate"]["level"] = "hardware"
    with pytest.raises(CertificateInvalid) as caught:
        verify_certificate(document, keyset)
    assert caught.value.code == "bad_signature"


def test_sweeper_marks_runs_stuck_past_the_limit_as_error(vendor, settings):
    settings.CERTIFICATION_RUN_TIMEOUT_S = 60

    def submit(version):
        upload = vendor.upload(model_package(version=version)).json()
        version = AgentVersion.objects.get(pk=upload["version"]["id"])
        return actions.submit_for_certification(version, "basic", actor=vendor.membership.user)

    with time_machine.travel(timezone.now(), tick=False) as clock:
        stale = submit("1.0.0")
        CertificationRun.objects.filter(pk=stale.pk).update(status="running")
        clock.shift(timedelta(minutes=2))  # past the limit, within the access token's life
        fresh = submit("1.1.0")

        assert actions.sweep_stale_runs() == 1
        stale.refresh_from_db()
        fresh.refresh_from_db()
        assert (stale.status, stale.error_code) == ("error", "run_timeout")
        assert stale.finished_at is not None
        assert fresh.status == "queued"
        assert actions.sweep_stale_runs() == 0  # idempotent
        (ended,) = AuditEvent.objects.filter(action="certification_timed_out")
        assert (ended.details["run"], ended.details["code"]) == (stale.pk, "run_timeout")


def test_run_detail_states_each_stage_of_the_level_as_the_portal_does(vendor):
    version = AgentVersionFactory(agent__tenant=vendor.tenant)
    failed = CertificationRunFactory(version=version, status="failed", results=False)
    CertificationResultFactory(run=failed, test_suite="validation", test_result="fail")
    CertificationResultFactory(run=failed, test_suite="signing", test_result="error")
    running = CertificationRunFactory(
        version=version, status="running", current_stage="invariants", finished_at=None
    )
    CertificationResultFactory(run=running, test_suite="validation")
    StageAttempt.objects.create(run=running, stage="validation")
    StageAttempt.objects.create(run=running, stage="invariants")

    def states(run):
        return vendor.client.get(f"/api/v1/certification/{run.pk}").json()["stage_states"]

    assert states(failed) == [
        {"stage": "validation", "state": "fail"},
        {"stage": "invariants", "state": "skipped"},
        {"stage": "performance", "state": "skipped"},
    ]
    assert states(running) == [
        {"stage": "validation", "state": "pass"},
        {"stage": "invariants", "state": "running"},
        {"stage": "performance", "state": "pending"},
    ]
    # The stages after validation run at once: performance, started last (the run's
    # current stage) and finished first, leaves invariants running, not pending.
    StageAttempt.objects.create(run=running, stage="performance")
    CertificationRun.objects.filter(pk=running.pk).update(current_stage="performance")
    CertificationResultFactory(run=running, test_suite="performance")
    assert states(running) == [
        {"stage": "validation", "state": "pass"},
        {"stage": "invariants", "state": "running"},
        {"stage": "performance", "state": "pass"},
    ]


def test_queue_pages_hold_every_run_once_when_runs_share_their_time(reviewer):
    """The queue was ordered by created_at alone: runs queued in the same instant (a vendor's
    batch, a re-certification sweep) came back in any order on each page's query, so pages
    skipped some and repeated others."""
    made = {CertificationRunFactory(running=True).pk for _ in range(40)}
    CertificationRun.objects.update(created_at=timezone.now())
    seen = []
    for page in range(1, 7):
        body = reviewer.get("/api/v1/certification/queue", {"page": page, "page_size": 7}).json()
        seen += [run["id"] for run in body["results"]]
    assert sorted(seen) == sorted(made)
