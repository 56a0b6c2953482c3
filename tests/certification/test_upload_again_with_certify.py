"""The same bytes uploaded again with ``certify`` (a re-run CI job doing ``edgeplug upload
--certify``) do not certify again a version whose certification is under way or has passed
(awaiting review, or approved and on sale): the answer names that run and says why no new one
started (``certification_not_restarted``), and the version stays where it was. A version whose
latest run failed or ended in error is submitted again, so a re-run job still retries it."""

import hashlib

import pytest

from certification.models import CertificationRun
from marketplace.catalogue import refresh_listing
from marketplace.models import AgentVersion
from tests.factories import AgentVersionFactory, CertificationRunFactory, approved_certification
from tests.vendors import package

pytestmark = pytest.mark.django_db


def _uploaded(vendor, data: bytes) -> AgentVersion:
    body = vendor.upload(data).json()
    return AgentVersion.objects.get(pk=body["version"]["id"])


@pytest.fixture
def on_sale(vendor):
    """1.0.0 certified by a passed run a reviewer approved: public, listed in the catalogue."""
    version = _uploaded(vendor, package("1.0.0"))
    approved_certification(version)
    assert version.is_public
    return version


def _catalogue(api) -> list[int]:
    return [agent["id"] for agent in api.get("/api/v1/agents").json()["results"]]


def test_the_same_upload_with_certify_sent_again_keeps_a_published_version_on_sale(
    vendor, on_sale, api
):
    run = on_sale.certification_runs.get()
    assert _catalogue(api) == [on_sale.agent_id]

    again = vendor.upload(package("1.0.0"), certify="true", level="basic")

    assert again.status_code == 200, again.json()
    body = again.json()
    assert (body["created"], body["version"]["id"]) == (False, on_sale.pk)
    assert body["certification_run"] == run.pk  # before: a new run, queued
    assert body["certification_error"] is None
    assert body["certification_not_restarted"]["code"] == "already_certified"
    assert (
        f"is certified by run {run.pk} and approved"
        in body["certification_not_restarted"]["detail"]
    )
    on_sale.refresh_from_db()
    assert on_sale.is_public  # before: queued, off sale until a reviewer approved it again
    assert _catalogue(api) == [on_sale.agent_id]
    assert api.get(f"/api/v1/agents/{on_sale.agent_id}").status_code == 200
    assert CertificationRun.objects.count() == 1


def test_a_public_version_marked_certified_without_a_run_stays_on_sale(vendor, api):
    """The version's own state decides, not only its runs: a version made public without one
    (``AgentVersionFactory(public=True)``, as the probe's published fixture) is not submitted."""
    data = package("1.0.0")
    version = AgentVersionFactory(
        agent__tenant=vendor.tenant,
        agent__name="pump-anomaly",
        version="1.0.0",
        digest=hashlib.sha256(data).hexdigest(),
        public=True,
    )
    refresh_listing(version.agent)

    again = vendor.upload(data, certify="true").json()

    assert (again["created"], again["version"]["id"]) == (False, version.pk)
    assert again["certification_run"] is None
    assert again["certification_not_restarted"]["code"] == "already_certified"
    assert not CertificationRun.objects.exists()
    version.refresh_from_db()
    assert version.is_public
    assert _catalogue(api) == [version.agent_id]


def test_the_same_upload_with_certify_leaves_a_passed_run_awaiting_its_review(vendor):
    version = _uploaded(vendor, package())
    run = CertificationRunFactory(version=version)
    AgentVersion.objects.filter(pk=version.pk).update(certification_status="certified")

    again = vendor.upload(package(), certify="true").json()

    assert again["certification_run"] == run.pk
    assert again["certification_error"] is None
    assert again["certification_not_restarted"]["code"] == "awaiting_review"
    assert list(CertificationRun.objects.awaiting_review()) == [run]
    assert CertificationRun.objects.count() == 1


def test_uploading_again_with_certify_while_the_first_run_is_queued_names_that_run(vendor):
    data = package()
    first = vendor.upload(data, certify="true", level="basic")
    assert first.status_code == 201, first.json()
    queued = CertificationRun.objects.get(pk=first.json()["certification_run"])
    assert queued.status == "queued"

    again = vendor.upload(data, certify="true", level="basic")

    assert again.status_code == 200, again.json()  # these bytes were stored before
    body = again.json()
    assert (body["created"], body["version"]["id"]) == (False, first.json()["version"]["id"])
    # Before: certification_run null and a run_in_progress error, which failed the CLI.
    assert body["certification_run"] == queued.pk
    assert body["certification_error"] is None
    assert body["certification_not_restarted"] == {
        "code": "run_in_progress",
        "detail": f"Run {queued.pk} for {queued.version} is still queued; certification was "
        "not started again.",
    }
    assert CertificationRun.objects.count() == 1


@pytest.mark.parametrize(
    ("status", "error_code"), [("failed", ""), ("error", "broker_unavailable")]
)
def test_a_certification_that_failed_is_retried_by_the_same_upload_with_certify(
    vendor, status, error_code
):
    version = _uploaded(vendor, package())
    ended = CertificationRunFactory(version=version, status=status, error_code=error_code)
    AgentVersion.objects.filter(pk=version.pk).update(certification_status=status)

    again = vendor.upload(package(), certify="true", level="standard").json()

    assert again["certification_not_restarted"] is None
    assert again["certification_error"] is None
    retried = CertificationRun.objects.get(pk=again["certification_run"])
    assert retried.pk != ended.pk
    assert (retried.status, retried.level, retried.version_id) == ("queued", "standard", version.pk)


def test_an_expired_certification_is_submitted_again_by_the_same_upload_with_certify(
    vendor, on_sale
):
    AgentVersion.objects.filter(pk=on_sale.pk).update(certification_status="expired")

    again = vendor.upload(package("1.0.0"), certify="true").json()

    assert again["certification_not_restarted"] is None
    assert CertificationRun.objects.get(pk=again["certification_run"]).status == "queued"
