"""A tenant admin's audit trail (GET /api/v1/tenant/audit-events) shows what EdgePlug's
platform staff did to the tenant's objects as done by platform staff, without who it was or
the address they worked from: staff identities are not told to tenants (docs/roles.md). Its
own members' events are shown as recorded."""

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from tests.conftest import sign_in, totp_now
from tests.factories import (
    AgentVersionFactory,
    UserFactory,
    WorkflowPackageFactory,
    staff_member,
)

pytestmark = pytest.mark.django_db

STAFF_IP = "198.51.100.77"
MEMBER_IP = "203.0.113.5"


def _approved_by_a_reviewer(tenant):
    """A reviewer approves one of the tenant's workflow packages, at the API, from STAFF_IP."""
    version = AgentVersionFactory(agent__tenant=tenant, public=True)
    step = {"agent": f"{tenant.slug}/{version.agent.name}", "version": version.version}
    wpk = WorkflowPackageFactory(tenant=tenant, content={"steps": [step]})
    reviewer = staff_member("reviewers")
    client = APIClient(REMOTE_ADDR=STAFF_IP)
    tokens = sign_in(client, reviewer, otp=totp_now(reviewer.device))
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    decided = client.post(
        f"/api/v1/wpk/review/{wpk.pk}", {"decision": "approve", "reason": "ok"}, format="json"
    )
    assert decided.status_code == 200, decided.json()
    return reviewer


def _rows(client, action):
    response = client.get("/api/v1/tenant/audit-events", {"action": action})
    assert response.status_code == 200, response.json()
    return response.json()["results"]


def test_a_staff_members_action_is_shown_as_platform_staffs_without_email_or_address(
    member_client,
):
    client, membership = member_client("admin", is_vendor=True)
    reviewer = _approved_by_a_reviewer(membership.tenant)
    (row,) = _rows(client, "wpk_approved")
    assert (row["actor_email"], row["ip"], row["by_platform_staff"]) == (None, None, True)
    assert reviewer.email not in repr(row) and STAFF_IP not in repr(row)
    # The list still orders by them (a hidden one as null).
    for ordering in ("actor_email", "-actor_email", "ip"):
        ordered = client.get("/api/v1/tenant/audit-events", {"ordering": ordering})
        assert ordered.status_code == 200, ordered.json()


def test_the_tenants_own_members_are_shown_as_recorded_staff_or_not(member_client):
    """A member's action is the tenant's own, whoever the member is: one who is also in a
    staff group (superusers may add staff to a tenant) is shown too."""
    client, membership = member_client("admin", is_vendor=True)
    admin = APIClient(REMOTE_ADDR=MEMBER_IP)
    admin.credentials(HTTP_AUTHORIZATION=f"Bearer {sign_in(admin, membership.user)['access']}")
    newcomer = UserFactory()
    added = admin.post(
        "/api/v1/tenant/members", {"email": newcomer.email, "role": "developer"}, format="json"
    )
    assert added.status_code == 201, added.json()
    membership.user.groups.add(Group.objects.get(name="finance"))
    (row,) = _rows(client, "membership_created")
    assert (row["actor_email"], row["ip"], row["by_platform_staff"]) == (
        membership.user.email,
        MEMBER_IP,
        False,
    )
