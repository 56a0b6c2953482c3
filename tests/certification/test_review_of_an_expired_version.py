"""A run that passed and waits for review, whose version is no longer certified by the time a
reviewer gets to it (its platform key was revoked, and beat marked the version ``expired``),
cannot be decided: it leaves the API queue and the admin's queue, its page offers no decision,
and a decision posted anyway is refused (``version_not_certified``) and changes nothing."""

import json
from datetime import UTC, datetime

import pytest

from certification.certificates import platform_keys
from certification.models import CertificationRun
from certification.pipeline.actions import expire_lapsed_certifications, review_run
from edgeplug.audit.models import AuditEvent
from edgeplug.errors import DomainError
from tests.factories import CertificationRunFactory, certificate_for, staff_member

pytestmark = pytest.mark.django_db


def _ring(settings, *entries, active):
    settings.PLATFORM_SIGNING_KEYS = json.dumps({"keys": list(entries), "active": active["key_id"]})


@pytest.fixture
def expired_run(settings):
    """A passed run awaiting review whose only certificate's platform key was then revoked;
    beat has marked its version ``expired``."""
    key_a, key_b = platform_keys.generate_key_entry(), platform_keys.generate_key_entry()
    _ring(settings, key_a, active=key_a)
    run = CertificationRunFactory()
    certificate_for(run)
    revoked_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    _ring(settings, {**key_a, "private_key": None, "revoked_at": revoked_at}, key_b, active=key_b)
    assert expire_lapsed_certifications() == 1
    run.version.refresh_from_db()
    assert run.version.certification_status == "expired"
    return run


@pytest.fixture
def reviewer(admin_session):
    client, _ = admin_session("reviewers")
    return client


def test_the_api_queue_leaves_out_a_run_whose_version_expired(staff_client, expired_run):
    waiting = CertificationRunFactory()  # another version, still certified
    queue = staff_client("reviewers").get("/api/v1/certification/queue").json()
    assert [r["id"] for r in queue["results"]] == [waiting.pk]  # before: both


def test_the_admin_refuses_to_approve_a_run_whose_version_expired(reviewer, expired_run):
    run = expired_run
    listed = reviewer.get("/admin/certification/certificationrun/", {"queue": "review"})
    assert [r.pk for r in listed.context["cl"].result_list] == []
    page = reviewer.get(f"/admin/certification/certificationrun/{run.pk}/change/")
    assert page.context["can_decide"] is False
    assert "is no longer certified (expired)" in page.context["decide_refusal"]

    response = reviewer.post(
        f"/admin/certification/certificationrun/{run.pk}/decide/",
        {"decision": "approve", "reason": "all stages pass"},
        follow=True,
    )

    messages = [str(m) for m in response.context["messages"]]
    assert messages != [f"Run {run.pk} approved."]  # before: approved, publishing nothing
    [message] = messages
    assert "is no longer certified (expired)" in message
    run.refresh_from_db()
    run.version.refresh_from_db()
    assert (run.review_status, run.version.review_status) == ("pending", "pending")
    assert not AuditEvent.objects.filter(action="certification_approved").exists()


def test_the_action_refuses_with_its_own_code(expired_run):
    with pytest.raises(DomainError) as refused:
        review_run(expired_run, approve=True, reason="all stages pass", reviewer=staff_member())
    assert (refused.value.status, refused.value.code) == (409, "version_not_certified")
    assert CertificationRun.objects.get(pk=expired_run.pk).review_status == "pending"
