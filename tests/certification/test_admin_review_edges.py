"""A reviewer's decision in the admin goes through the same action as the API: every refusal
the action makes (no reason, own tenant, a superseded run, a yanked version) is shown on the
page and changes nothing; a good decision publishes the version."""

from datetime import timedelta

import lxml.html
import pytest
from django.utils import timezone

from certification.models import CertificationRun
from edgeplug.audit.models import AuditEvent
from edgeplug.tenancy.models import Role
from tests.factories import CertificationRunFactory, MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewer(admin_session):
    return admin_session("reviewers")


def _decide(client, run, decision="approve", reason="all stages pass"):
    url = f"/admin/certification/certificationrun/{run.pk}/decide/"
    response = client.post(url, {"decision": decision, "reason": reason}, follow=True)
    assert response.status_code == 200
    return [str(m) for m in response.context["messages"]]


def _unchanged(run):
    run.refresh_from_db()
    return run.review_status == "pending" and run.version.review_status == "pending"


def test_approving_with_a_reason_publishes_the_version(reviewer):
    client, _ = reviewer
    run = CertificationRunFactory()
    assert _decide(client, run) == [f"Run {run.pk} approved."]
    run.refresh_from_db()
    assert (run.review_status, run.version.review_status) == ("approved", "approved")


def test_a_decision_without_a_reason_is_refused(reviewer):
    client, _ = reviewer
    run = CertificationRunFactory()
    assert _decide(client, run, reason="   ") == ["A decision needs a reason."]
    assert _unchanged(run)


def test_the_reason_refused_is_marked_in_the_page_as_served(reviewer):
    """Its field in error, described by the refusal, without JavaScript (admin.js did it)."""
    client, _ = reviewer
    run = CertificationRunFactory()
    url = f"/admin/certification/certificationrun/{run.pk}/decide/"
    page = lxml.html.fromstring(
        client.post(url, {"decision": "approve", "reason": ""}, follow=True).content
    )
    reason = page.get_element_by_id("id_reason")
    assert (reason.get("aria-invalid"), reason.get("aria-describedby")) == (
        "true",
        "decision-refusal",
    )
    assert "needs a reason" in page.get_element_by_id("decision-refusal").text_content()


def test_a_reviewer_cannot_decide_their_own_tenants_run(reviewer):
    client, user = reviewer
    run = CertificationRunFactory()
    MembershipFactory(tenant=run.tenant, user=user, role=Role.DEVELOPER)
    assert _decide(client, run, "reject") == [
        "You cannot review a package of a tenant you belong to."
    ]
    assert _unchanged(run)
    # Refused as the API refuses it (403 own_tenant_review), and audited the same way.
    event = AuditEvent.objects.get(action="permission_denied")
    assert (event.actor, event.target) == (
        user,
        f"POST /admin/certification/certificationrun/{run.pk}/decide/",
    )
    assert event.details["code"] == "own_tenant_review"


def test_only_the_newest_run_of_a_version_can_be_decided(reviewer):
    client, _ = reviewer
    old = CertificationRunFactory()
    new = CertificationRunFactory(version=old.version)
    (message,) = _decide(client, old)
    assert f"superseded by run {new.pk}" in message
    assert _unchanged(old)


def test_a_yanked_version_cannot_be_approved(reviewer):
    client, _ = reviewer
    run = CertificationRunFactory()
    run.version.yanked_at = timezone.now()
    run.version.save(update_fields=["yanked_at"])
    (message,) = _decide(client, run)
    assert "was yanked by its vendor" in message
    assert _unchanged(run)


def test_a_run_that_did_not_pass_cannot_be_decided(reviewer):
    client, _ = reviewer
    run = CertificationRunFactory(status="failed")
    (message,) = _decide(client, run)
    assert "only passed runs awaiting review" in message
    assert CertificationRun.objects.get(pk=run.pk).review_status == "pending"


def _yanked_run():
    run = CertificationRunFactory()
    run.version.yanked_at = timezone.now()
    run.version.save(update_fields=["yanked_at"])
    return run


def test_the_admin_queue_lists_only_runs_that_can_be_decided(reviewer):
    client, _ = reviewer
    old = CertificationRunFactory()
    new = CertificationRunFactory(version=old.version)
    _yanked_run()
    response = client.get("/admin/certification/certificationrun/", {"queue": "review"})
    assert response.status_code == 200
    assert [run.pk for run in response.context["cl"].result_list] == [new.pk]


@pytest.mark.parametrize(
    ("age", "listed"),
    [("1h", {"hours", "day", "week"}), ("1d", {"day", "week"}), ("7d", {"week"})],
)
def test_the_admin_age_filter_lists_runs_submitted_at_least_that_long_ago(reviewer, age, listed):
    client, _ = reviewer
    ages = {
        "minutes": timedelta(minutes=30),
        "hours": timedelta(hours=2),
        "day": timedelta(days=1, minutes=1),
        "week": timedelta(days=7, minutes=1),
    }
    runs = {name: CertificationRunFactory() for name in ages}
    for name, ago in ages.items():  # created_at is set on insert
        CertificationRun.objects.filter(pk=runs[name].pk).update(created_at=timezone.now() - ago)
    response = client.get("/admin/certification/certificationrun/", {"age": age})
    assert response.status_code == 200
    shown = {run.pk for run in response.context["cl"].result_list}
    assert shown == {runs[name].pk for name in listed}
    # A value the filter does not know (a stale or typed URL) lists every run.
    response = client.get("/admin/certification/certificationrun/", {"age": "2h"})
    assert {run.pk for run in response.context["cl"].result_list} >= {r.pk for r in runs.values()}


@pytest.mark.parametrize("kind", ["superseded", "yanked"])
def test_a_run_that_cannot_be_decided_offers_no_decision_form(reviewer, kind):
    client, _ = reviewer
    if kind == "superseded":
        run = CertificationRunFactory()
        CertificationRunFactory(version=run.version)
    else:
        run = _yanked_run()
    response = client.get(f"/admin/certification/certificationrun/{run.pk}/change/")
    assert response.status_code == 200
    assert response.context["can_decide"] is False
    assert (
        f"/admin/certification/certificationrun/{run.pk}/decide/" not in response.content.decode()
    )


def test_the_newest_run_of_a_resubmitted_version_is_offered_and_decided(reviewer):
    client, _ = reviewer
    old = CertificationRunFactory()
    new = CertificationRunFactory(version=old.version)
    response = client.get(f"/admin/certification/certificationrun/{new.pk}/change/")
    assert response.context["can_decide"] is True
    assert f"/admin/certification/certificationrun/{new.pk}/decide/" in response.content.decode()
    assert _decide(client, new) == [f"Run {new.pk} approved."]
    new.refresh_from_db()
    assert (new.review_status, new.version.review_status) == ("approved", "approved")
    old.refresh_from_db()
    assert old.review_status == "pending"
