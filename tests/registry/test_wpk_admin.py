"""The workflow packages' admin pages beside the browser journeys
(tests/browser/test_reviewer_decides_workflow_packages.py): who may open and decide them, with
the Django test client and a TOTP-verified staff session."""

import pytest

from edgeplug.audit.models import AuditEvent
from marketplace.models import WorkflowPackage
from tests.factories import AgentVersionFactory, WorkflowPackageFactory

pytestmark = pytest.mark.django_db

WPKS = "/admin/marketplace/workflowpackage/"


@pytest.fixture
def package() -> WorkflowPackage:
    version = AgentVersionFactory(public=True)
    step = {"agent": f"{version.tenant.slug}/{version.agent.name}", "version": version.version}
    return WorkflowPackageFactory(tenant=version.tenant, content={"steps": [step]})


def _decide(client, package, **body):
    return client.post(f"{WPKS}{package.pk}/decide/", body, follow=True)


@pytest.mark.parametrize("group", ["finance", "platform-admins"])
def test_other_staff_groups_neither_open_nor_decide_packages(admin_session, package, group):
    client, user = admin_session(group)
    assert b"Workflow packages" not in client.get("/admin/").content
    assert client.get(WPKS).status_code == 403
    assert client.get(f"{WPKS}{package.pk}/change/").status_code == 403
    refused = client.post(f"{WPKS}{package.pk}/decide/", {"decision": "approve", "reason": "ok"})
    assert refused.status_code == 403
    package.refresh_from_db()
    assert package.status == "pending"
    decide = AuditEvent.objects.get(
        action="permission_denied", target=f"POST {WPKS}{package.pk}/decide/"
    )
    assert decide.actor == user


def test_a_superuser_decides_as_reviewers_do(admin_session, package):
    client, user = admin_session("platform-admins", is_superuser=True)
    page = client.get(f"{WPKS}{package.pk}/change/").content.decode()
    assert 'id="decision-form"' in page
    response = _decide(client, package, decision="reject", reason="Steps out of order.")
    assert f"Workflow package {package} rejected." in response.content.decode()
    package.refresh_from_db()
    assert (package.status, package.reviewer) == ("rejected", user)


def test_a_decision_must_be_approve_or_reject(admin_session, package):
    client, _ = admin_session("reviewers")
    response = _decide(client, package, decision="maybe", reason="Steps out of order.")
    page = response.content.decode()
    assert "Choose approve or reject." in page
    assert "Steps out of order.</textarea>" in page  # kept
    package.refresh_from_db()
    assert package.status == "pending"


def test_a_decided_package_offers_no_decision(admin_session, package):
    client, _ = admin_session("reviewers")
    _decide(client, package, decision="approve", reason="All steps certified.")
    page = client.get(f"{WPKS}{package.pk}/change/").content.decode()
    assert 'id="decision-form"' not in page
    again = _decide(client, package, decision="reject", reason="Changed my mind.")
    assert "This workflow package was already approved." in again.content.decode()
    package.refresh_from_db()
    assert (package.status, package.review_reason) == ("approved", "All steps certified.")
