"""Tenant admins manage members and roles; every change is audited."""

import pytest

from edgeplug.audit.models import AuditEvent
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_admin_adds_member_and_it_is_audited(member_client):
    client, membership = member_client("admin")
    newcomer = UserFactory()
    response = client.post(
        "/api/v1/tenant/members", {"email": newcomer.email, "role": "developer"}, format="json"
    )
    assert response.status_code == 201
    event = AuditEvent.objects.get(action="membership_created", target=newcomer.email)
    assert event.details["role"] == "developer"
    assert event.tenant == membership.tenant


def test_role_change_is_audited_with_before_and_after(member_client):
    client, membership = member_client("admin")
    other = MembershipFactory(tenant=membership.tenant, role="operator")
    response = client.patch(
        f"/api/v1/tenant/members/{other.pk}", {"role": "billing"}, format="json"
    )
    assert response.json()["role"] == "billing"
    event = AuditEvent.objects.get(action="role_changed")
    assert event.details == {"from": "operator", "to": "billing"}


def test_last_admin_cannot_be_demoted_or_removed(member_client):
    client, membership = member_client("admin")
    url = f"/api/v1/tenant/members/{membership.pk}"
    demote = client.patch(url, {"role": "operator"}, format="json")
    assert (demote.status_code, demote.json()["code"]) == (409, "last_admin")
    assert client.delete(url).json()["code"] == "last_admin"


def test_adding_unknown_user_or_twice_is_a_clear_error(member_client):
    client, membership = member_client("admin")
    unknown = client.post(
        "/api/v1/tenant/members", {"email": "ghost@example.com", "role": "operator"}, format="json"
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "user_not_found")
    twice = client.post(
        "/api/v1/tenant/members",
        {"email": membership.user.email, "role": "operator"},
        format="json",
    )
    assert (twice.status_code, twice.json()["code"]) == (409, "already_member")


def test_invalid_role_is_rejected(member_client):
    client, membership = member_client("admin")
    other = MembershipFactory(tenant=membership.tenant, role="operator")
    response = client.patch(f"/api/v1/tenant/members/{other.pk}", {"role": "god"}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "invalid_choice")
