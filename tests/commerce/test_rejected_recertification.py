"""A version certified again follows its review on devices too: while the new run is queued,
running or awaiting review, devices keep running the version they were given; once a reviewer
rejects the run, its certificate vouches for nothing (no door hands it out) and devices are
told to stop the version (``review_rejected``) until a new run of it is approved."""

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone

from certification.models import CertificationRun
from certification.pipeline.actions import expire_lapsed_certifications
from certification.pipeline.orchestration import finalize_run
from certification.pipeline.state import sync_version
from marketplace.models import AgentVersion
from tests.commerce.test_deployments import deploy, register, running
from tests.factories import CertificationResultFactory, certificate_for
from tests.vendors import package

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewer(admin_session):
    client, _ = admin_session("reviewers")
    return client


@pytest.fixture
def approved(published, certificate):
    """1.0.0 as a reviewer left it: its first run approved (``published`` made it public
    without a decision), its certificate vouching."""
    CertificationRun.objects.filter(pk=certificate.run_id).update(review_status="approved")
    return certificate


def _decide(reviewer, run, decision: str) -> list[str]:
    response = reviewer.post(
        f"/admin/certification/certificationrun/{run.pk}/decide/",
        {"decision": decision, "reason": "checked the new run"},
        follow=True,
    )
    assert response.status_code == 200
    return [str(m) for m in response.context["messages"]]


def _certify_again(vendor, version, clock) -> CertificationRun:
    """The vendor submits the version again; the run stays queued (no worker here)."""
    clock.shift(timedelta(minutes=1))  # its certificate is the newer one, by a minute
    response = vendor.client.post(
        "/api/v1/certification/submit",
        {"version_id": version.pk, "level": "standard"},
        format="json",
    )
    assert response.status_code == 202, response.json()
    return CertificationRun.objects.get(pk=response.json()["run_id"])


def _passes(run: CertificationRun):
    """What the pipeline leaves when the run passes: its results, its certificate, the version
    certified and waiting for review again."""
    CertificationResultFactory(
        run=run,
        test_suite="simulation",
        metrics={"board": "mps2-an386", "latency_median_us": 380, "latency_max_us": 420},
    )
    run.status, run.progress, run.finished_at = "passed", 100, timezone.now()
    run.save(update_fields=["status", "progress", "finished_at"])
    certificate = certificate_for(run)
    sync_version(run)
    return certificate


def _fails(run: CertificationRun) -> str:
    """The pipeline ends the run on a failing stage: failed, or error."""
    CertificationResultFactory(
        run=run, test_suite="simulation", test_result="fail", error_code="firmware_missing"
    )
    ended = finalize_run(run.pk)
    assert ended in {"failed", "error"}
    return ended


def _assignments(device_api) -> dict:
    return device_api.get("/api/v1/device/assignments").json()


def _certificate_url(version) -> str:
    return f"/api/v1/agents/{version.agent_id}/versions/{version.version}/certificate"


def _bundled_certificate(client, version) -> dict:
    response = client.get(f"/api/v1/agents/{version.agent_id}/versions/{version.version}/bundle")
    assert response.status_code == 200, response.content[:300]
    return json.loads(zipfile.ZipFile(io.BytesIO(response.content)).read("certificate.json"))


def test_a_rejected_recertification_stops_the_devices_running_the_version(
    customer, vendor, reviewer, published, agent, make_plan, approved, clock, media_root
):
    client, _ = customer
    _, device_api = running(client, agent, make_plan, published)
    [before] = _assignments(device_api)["run"]
    assert before["certificate_id"] == approved.pk
    run = _certify_again(vendor, published, clock)
    refused = _passes(run)

    assert _decide(reviewer, run, "reject") == [f"Run {run.pk} rejected."]

    body = _assignments(device_api)
    assert body["run"] == [], "before: run, with the rejected run's certificate"
    [stop] = body["stop"]
    assert (stop["version"], stop["reason"]) == ("1.0.0", "review_rejected")
    fetched = device_api.get(before["download_url"])
    assert (fetched.status_code, fetched.json()["code"]) == (404, "not_found")
    # No door hands out the rejected run's certificate as the version's: the vendor gets the
    # approved one it still holds, at the certificate endpoint and in its bundle.
    handed_out = vendor.client.get(_certificate_url(published))
    assert handed_out.json() == approved.document() != refused.document()
    assert _bundled_certificate(vendor.client, published) == approved.document()
    # Customers can neither deploy it anew nor fetch it; beat leaves it certified (the
    # approved certificate still vouches).
    other = deploy(client, register(client, "hw-2"), published)
    assert (other.status_code, other.json()["code"]) == (400, "unknown_version")
    assert client.get(_certificate_url(published)).status_code == 404
    assert expire_lapsed_certifications() == 0


def test_devices_keep_running_the_version_while_it_is_certified_again(
    customer, vendor, reviewer, published, agent, make_plan, approved, clock, media_root
):
    """The vendor's new run, until it is decided, leaves the catalogue and new deployments
    waiting, not the devices already running the version."""
    client, _ = customer
    _, device_api = running(client, agent, make_plan, published)
    run = _certify_again(vendor, published, clock)

    [queued] = _assignments(device_api)["run"]
    assert queued["certificate_id"] == approved.pk
    assert device_api.get(queued["download_url"]).status_code == 200

    newer = _passes(run)
    [waiting] = _assignments(device_api)["run"]
    assert waiting["certificate_id"] == newer.pk
    assert device_api.get(waiting["download_url"]).status_code == 200
    refused = deploy(client, register(client, "hw-2"), published)
    assert (refused.status_code, refused.json()["code"]) == (400, "unknown_version")

    assert _decide(reviewer, run, "approve") == [f"Run {run.pk} approved."]
    [approved_again] = _assignments(device_api)["run"]
    assert approved_again["certificate_id"] == newer.pk


def test_a_rejected_version_certified_again_stays_stopped_until_a_reviewer_approves(
    customer, vendor, reviewer, published, agent, make_plan, approved, clock, media_root
):
    client, _ = customer
    _, device_api = running(client, agent, make_plan, published)
    rejected = _certify_again(vendor, published, clock)
    _passes(rejected)
    _decide(reviewer, rejected, "reject")

    run = _certify_again(vendor, published, clock)
    assert _assignments(device_api)["stop"][0]["reason"] == "review_rejected"  # queued
    newest = _passes(run)
    body = _assignments(device_api)
    assert body["run"] == [], "before: run again, with a certificate nobody reviewed"
    assert body["stop"][0]["reason"] == "review_rejected"

    assert _decide(reviewer, run, "approve") == [f"Run {run.pk} approved."]
    [runs] = _assignments(device_api)["run"]
    assert runs["certificate_id"] == newest.pk


def test_a_version_rejected_at_its_first_review_has_no_certificate(vendor, reviewer, media_root):
    """Its only certificate is the rejected run's: the version's certificate endpoint says
    not_certified, and beat does not call that an expiry."""
    uploaded = vendor.upload(package("2.0.0")).json()
    version = AgentVersion.objects.get(pk=uploaded["version"]["id"])
    run = CertificationRun.objects.create(
        version=version,
        tenant=version.tenant,
        level="standard",
        pipeline_version="1",
        stages=["validation", "simulation"],
    )
    _passes(run)
    assert vendor.client.get(_certificate_url(version)).status_code == 200

    _decide(reviewer, run, "reject")

    response = vendor.client.get(_certificate_url(version))
    assert (response.status_code, response.json()["code"]) == (404, "not_certified")
    assert expire_lapsed_certifications() == 0
    version.refresh_from_db()
    assert (version.certification_status, version.review_status) == ("certified", "rejected")


def test_a_recertification_that_fails_leaves_the_approved_version_on_sale(
    customer, vendor, published, agent, make_plan, approved, clock, media_root
):
    """Certified again (at another level, say) and the new run fails: the certificate a
    reviewer approved still vouches, so the version stays what customers bought, for sale
    and deployable, as the devices running it already see it. Before, it left the catalogue
    and customers' downloads and deployments until a new run passed and was approved."""
    client, _ = customer
    _, device_api = running(client, agent, make_plan, published)
    run = _certify_again(vendor, published, clock)
    assert client.get(_certificate_url(published)).status_code == 404  # while it runs
    ended = _fails(run)

    published.refresh_from_db()
    assert (published.certification_status, published.review_status) == ("certified", "approved")
    assert client.get(_certificate_url(published)).json() == approved.document()
    download = client.get(f"/api/v1/agents/{agent.pk}/versions/1.0.0/download")
    assert download.status_code == 200
    # Deployable: a second device is refused only for want of a seat (one was bought).
    second = deploy(client, register(client, "hw-2"), published)
    assert (second.status_code, second.json()["code"]) == (409, "seat_limit_reached")
    listed = client.get("/api/v1/agents", {"q": agent.name}).json()["results"]
    assert [a["id"] for a in listed] == [agent.pk]
    [still] = _assignments(device_api)["run"]
    assert still["certificate_id"] == approved.pk
    # The vendor's record of the attempt: the run, failed.
    assert vendor.client.get(f"/api/v1/certification/{run.pk}").json()["status"] == ended


def test_a_run_awaiting_review_is_decided_still_after_a_newer_run_of_the_version_fails(
    customer, vendor, reviewer, published, agent, make_plan, approved, clock, media_root
):
    """Certified again, passed, and certified once more before a reviewer decided: the last
    run fails. It takes nothing away: the version is certified and awaits the review of the
    run that passed, which the reviewer finds in the queue and whose approval publishes it.
    Before, the version stayed in error, the passed run read as superseded by the failed one,
    and nothing could publish the version again but yet another run."""
    client, _ = customer
    _, device_api = running(client, agent, make_plan, published)
    passed = _certify_again(vendor, published, clock)
    newer = _passes(passed)
    _fails(_certify_again(vendor, published, clock))

    published.refresh_from_db()
    assert (published.certification_status, published.review_status) == ("certified", "pending")
    [waiting] = _assignments(device_api)["run"]
    assert waiting["certificate_id"] == newer.pk  # as before the failed run
    queue = reviewer.get("/admin/certification/certificationrun/", {"queue": "review"})
    assert [run.pk for run in queue.context["cl"].result_list] == [passed.pk]

    assert _decide(reviewer, passed, "approve") == [f"Run {passed.pk} approved."]
    download = client.get(f"/api/v1/agents/{agent.pk}/versions/1.0.0/download")
    assert download.status_code == 200
    assert client.get(_certificate_url(published)).json() == newer.document()
