"""The review queue is what a reviewer can decide now: a passed, undecided run of a version its
vendor has not yanked and that is still certified, and the newest run of that version but for
newer runs that failed (they take nothing away). The API queue, the admin's queue filter and
decision form, and ``review_run`` share that one rule."""

import pytest
from django.utils import timezone

from certification.models import CertificationRun
from tests.factories import CertificationRunFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewer(staff_client):
    return staff_client("reviewers")


def _yank(run):
    run.version.yanked_at = timezone.now()
    run.version.save(update_fields=["yanked_at"])


@pytest.fixture
def runs():
    """One run of each kind the queue must tell apart."""
    superseded = CertificationRunFactory()
    yanked = CertificationRunFactory()
    _yank(yanked)
    return {
        "superseded": superseded,
        "newest": CertificationRunFactory(version=superseded.version),
        "yanked": yanked,
        "expired since": CertificationRunFactory(version__certification_status="expired"),
        "plain": CertificationRunFactory(),
        "failed": CertificationRunFactory(status="failed"),
        "decided": CertificationRunFactory(review_status="approved"),
        "resubmitted while running": CertificationRunFactory(
            version=CertificationRunFactory().version, status="running", finished_at=None
        ),
        "resubmitted and failed": CertificationRunFactory(
            version=CertificationRunFactory().version, status="error"
        ),
    }


def _passed_before(run):
    return CertificationRun.objects.get(version=run.version, status="passed")


def test_the_api_queue_leaves_out_superseded_runs_and_yanked_or_expired_versions(reviewer, runs):
    queue = reviewer.get("/api/v1/certification/queue").json()
    listed = {r["id"] for r in queue["results"]}
    running = runs["resubmitted while running"]
    older = _passed_before(running)
    before_failed = _passed_before(runs["resubmitted and failed"])
    assert listed == {runs["newest"].pk, runs["plain"].pk, running.pk, before_failed.pk}
    assert older.pk not in listed, "a run superseded by a run still going is not decidable"


def test_the_queryset_and_the_property_agree_run_by_run(runs):
    queued = set(CertificationRun.objects.awaiting_review().values_list("pk", flat=True))
    everything = CertificationRun.objects.select_related("version")
    assert {run.pk for run in everything if run.is_awaiting_review} == queued
    before_failed = _passed_before(runs["resubmitted and failed"])
    assert queued == {runs["newest"].pk, runs["plain"].pk, before_failed.pk}


@pytest.mark.parametrize(
    "query",
    [
        {"status": "failed"},
        {"status": "error"},
        {"review_status": "approved"},
        {"review_status": "rejected"},
    ],
)
def test_a_filter_value_no_run_in_the_queue_has_is_refused_not_an_empty_page(reviewer, runs, query):
    """The queue published these values and answered them with an empty page (200), though
    such runs exist: a vendor asking for its failed runs was told it had none. The queue
    holds runs awaiting review and runs still going, never one of these."""
    response = reviewer.get("/api/v1/certification/queue", query)
    assert (response.status_code, response.json()["code"]) == (400, "invalid_choice")
    assert list(response.json()["errors"]) == list(query)


def test_each_value_the_queue_publishes_finds_its_runs(reviewer, runs):
    def listed(query):
        response = reviewer.get("/api/v1/certification/queue", query)
        assert response.status_code == 200, response.json()
        return {row["id"] for row in response.json()["results"]}

    running = runs["resubmitted while running"]
    passed = {
        runs["newest"].pk,
        runs["plain"].pk,
        _passed_before(runs["resubmitted and failed"]).pk,
    }
    assert listed({"status": "passed"}) == passed
    assert listed({"status": "running"}) == {running.pk}
    assert listed({"status": "queued"}) == set()
    assert listed({"review_status": "pending"}) == listed({}) == passed | {running.pk}
