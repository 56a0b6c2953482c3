"""Workflow packages: signed upload, listing, and a reviewer's decision."""

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from edgeplug import signing
from edgeplug.audit.models import AuditEvent
from marketplace.models import AgentVersion
from tests.conftest import sign_in, totp_now
from tests.factories import TOTPDeviceFactory, staff_member
from tests.vendors import package

pytestmark = pytest.mark.django_db


def _wpk(vendor, version="1.0.0", steps=None, name="bottling-line", keys=None):
    content = {
        "steps": steps or [{"agent": "acme-robotics/pump-anomaly", "version": ">=1.0.0,<2.0.0"}]
    }
    document = {"name": name, "version": version, "content": content}
    signature = signing.sign_document((keys or vendor.keys).private_key, document)
    return {**document, "signature": signing.encode_b64(signature), "key_id": vendor.key.key_id}


@pytest.fixture
def reviewer(staff_client):
    return staff_client("reviewers")


@pytest.fixture
def agent_version(vendor):
    return AgentVersion.objects.get(pk=vendor.upload(package()).json()["version"]["id"])


def test_upload_list_and_approve(vendor, reviewer, agent_version, member_client):
    created = vendor.client.post("/api/v1/wpk/upload", _wpk(vendor), format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["status"] == "pending"
    wpk_id = created.json()["id"]

    listing = vendor.client.get("/api/v1/wpk/list").json()
    assert listing["count"] == 1
    assert {"id", "name", "version", "status", "created_at"} <= set(listing["wpks"][0])
    customer, _ = member_client("admin")
    assert customer.get("/api/v1/wpk/list").json()["count"] == 0

    refused = reviewer.post(
        f"/api/v1/wpk/review/{wpk_id}", {"decision": "approve", "reason": "ok"}, format="json"
    )
    assert (refused.status_code, refused.json()["code"]) == (409, "agents_not_certified")

    AgentVersion.objects.filter(pk=agent_version.pk).update(
        certification_status="certified", review_status="approved"
    )
    approved = reviewer.post(
        f"/api/v1/wpk/review/{wpk_id}",
        {"decision": "approve", "reason": "all agents certified"},
        format="json",
    )
    assert approved.status_code == 200
    body = approved.json()
    assert body["status"] == "approved" and body["reviewed_at"]
    assert AuditEvent.objects.filter(action="wpk_approved").exists()
    assert customer.get("/api/v1/wpk/list?status=approved").json()["count"] == 1
    again = reviewer.post(
        f"/api/v1/wpk/review/{wpk_id}", {"decision": "reject", "reason": "x"}, format="json"
    )
    assert again.json()["code"] == "already_reviewed"


def test_no_tenant_is_told_which_staff_member_reviewed_a_package(
    vendor, agent_version, member_client
):
    """Every signed-in tenant lists the approved packages, and each row named the platform
    reviewer who approved it by e-mail, where the run API names no reviewer and staff
    identities are not told to tenants (docs/roles.md)."""
    wpk_id = vendor.client.post("/api/v1/wpk/upload", _wpk(vendor), format="json").json()["id"]
    AgentVersion.objects.filter(pk=agent_version.pk).update(
        certification_status="certified", review_status="approved"
    )
    user = staff_member("reviewers")
    reviewer = APIClient()
    tokens = sign_in(reviewer, user, otp=totp_now(user.device))
    reviewer.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    decided = reviewer.post(
        f"/api/v1/wpk/review/{wpk_id}", {"decision": "approve", "reason": "ok"}, format="json"
    )
    assert decided.status_code == 200, decided.json()
    customer, _ = member_client("developer")
    for client in (customer, vendor.client, reviewer):
        (row,) = client.get("/api/v1/wpk/list").json()["wpks"]
        assert (row["id"], row["status"]) == (wpk_id, "approved")
        assert "reviewer" not in row and user.email not in repr(row), row
        # Nor ordered by: the list's terms are its rows' names (docs/roles.md).
        ordered = client.get("/api/v1/wpk/list?ordering=reviewer")
        assert (ordered.status_code, ordered.json()["code"]) == (400, "invalid_ordering")
    assert "reviewer" not in decided.json()


def test_reject_needs_a_reason_and_only_reviewers_decide(vendor, reviewer, agent_version):
    wpk_id = vendor.client.post("/api/v1/wpk/upload", _wpk(vendor), format="json").json()["id"]
    assert (
        vendor.client.post(
            f"/api/v1/wpk/review/{wpk_id}", {"decision": "reject", "reason": "mine"}, format="json"
        ).status_code
        == 403
    )
    # The action's refusals, as the admin's review page answers them.
    for body, code in (
        ({"decision": "reject"}, "reason_required"),
        ({"decision": "reject", "reason": "   "}, "reason_required"),
        ({"decision": "reject", "reason": "x" * 1001}, "reason_too_long"),
    ):
        refused = reviewer.post(f"/api/v1/wpk/review/{wpk_id}", body, format="json")
        assert (refused.status_code, refused.json()["code"]) == (400, code)
    rejected = reviewer.post(
        f"/api/v1/wpk/review/{wpk_id}",
        {"decision": "reject", "reason": "step order unsafe"},
        format="json",
    )
    assert rejected.json()["status"] == "rejected"
    assert reviewer.get("/api/v1/wpk/list?status=rejected").json()["count"] == 1


@pytest.mark.parametrize(
    ("mutate", "code", "status"),
    [
        (lambda w: {**w, "signature": "!!"}, "malformed_signature", 400),
        (lambda w: {**w, "version": "2.0.0"}, "bad_signature", 422),
        (lambda w: {**w, "key_id": "ed25519:nope"}, "unknown_key", 422),
        (lambda w: {**w, "version": "1.0"}, "invalid_version", 422),
        # The document's shape is the action's (reject_malformed_document), as on the portal.
        (lambda w: {**w, "extra": 1}, "wpk_invalid", 422),
        (lambda w: {**w, "content": ["steps"]}, "wpk_invalid", 422),
        # upload_wpk's refusals, as the portal answers them: the serializer only states limits.
        (lambda w: {**w, "name": "My Flow"}, "wpk_invalid", 422),
        (lambda w: {**w, "name": "a" * 65}, "wpk_invalid", 422),
        (lambda w: {**w, "version": "1.0.0-" + "a" * 130}, "wpk_invalid", 422),
        (lambda w: {**w, "signature": w["signature"] * 2}, "wpk_invalid", 422),
    ],
)
def test_bad_wpk_uploads(vendor, agent_version, mutate, code, status):
    response = vendor.client.post("/api/v1/wpk/upload", mutate(_wpk(vendor)), format="json")
    assert (response.status_code, response.json()["code"]) == (status, code)


def test_steps_must_reference_existing_agents_and_versions(vendor, agent_version):
    unknown = _wpk(vendor, steps=[{"agent": "acme-robotics/ghost", "version": "1.0.0"}])
    response = vendor.client.post("/api/v1/wpk/upload", unknown, format="json")
    assert (response.status_code, response.json()["code"]) == (422, "unknown_step_agent")
    no_match = _wpk(vendor, steps=[{"agent": "acme-robotics/pump-anomaly", "version": ">=2.0.0"}])
    response = vendor.client.post("/api/v1/wpk/upload", no_match, format="json")
    assert response.json()["code"] == "no_matching_version"
    bad_range = _wpk(vendor, steps=[{"agent": "acme-robotics/pump-anomaly", "version": "~>1"}])
    assert (
        vendor.client.post("/api/v1/wpk/upload", bad_range, format="json").json()["code"]
        == "wpk_invalid"
    )


def test_versions_are_immutable_and_reupload_is_idempotent(vendor, agent_version):
    first = vendor.client.post("/api/v1/wpk/upload", _wpk(vendor), format="json")
    same = vendor.client.post("/api/v1/wpk/upload", _wpk(vendor), format="json")
    assert same.status_code == 200 and same.json()["id"] == first.json()["id"]
    changed = _wpk(vendor, steps=[{"agent": "acme-robotics/pump-anomaly", "version": "1.0.0"}])
    response = vendor.client.post("/api/v1/wpk/upload", changed, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "version_exists")
    newer = vendor.client.post("/api/v1/wpk/upload", _wpk(vendor, version="1.1.0"), format="json")
    assert newer.status_code == 201


def test_oversized_wpk(vendor, agent_version, settings):
    settings.WPK_MAX_BYTES = 50
    response = vendor.client.post("/api/v1/wpk/upload", _wpk(vendor), format="json")
    assert (response.status_code, response.json()["code"]) == (413, "wpk_too_large")
    assert response.json()["detail"].startswith(
        "Workflow packages are limited to 50 bytes in their signed form (canonical JSON); "
        "this one is "
    )


def test_reviewer_cannot_review_own_tenant(vendor, agent_version):
    wpk_id = vendor.client.post("/api/v1/wpk/upload", _wpk(vendor), format="json").json()["id"]
    user = vendor.membership.user
    user.groups.add(Group.objects.get(name="reviewers"))
    client = APIClient()  # a reviewer who signed in with TOTP, as staff must
    otp = totp_now(TOTPDeviceFactory(user=user))
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {sign_in(client, user, otp=otp)['access']}")
    response = client.post(
        f"/api/v1/wpk/review/{wpk_id}", {"decision": "reject", "reason": "x"}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (403, "own_tenant_review")
    event = AuditEvent.objects.get(action="permission_denied")  # as any other 403 is
    assert (event.actor, event.target) == (user, f"POST /api/v1/wpk/review/{wpk_id}")
    assert event.details["code"] == "own_tenant_review"
