"""A sign-in and a sign-out read the same in the audit log whichever door they came through:
the API's tokens, the portal's session, the admin's login page."""

import pytest
from django.test import Client

from edgeplug.audit.models import AuditEvent
from tests.conftest import admin_login, sign_in
from tests.factories import MembershipFactory, TOTPDeviceFactory, VendorTenantFactory
from tests.portal.conftest import portal_sign_in

pytestmark = pytest.mark.django_db


def _listed(client, action: str) -> list[dict]:
    response = client.get("/api/v1/tenant/audit-events", {"action": action})
    assert response.status_code == 200, response.json()
    return response.json()["results"]


def test_the_vendor_admin_sees_portal_and_api_sign_ins_of_the_team(member_client):
    admin_api, admin = member_client("admin", tenant=VendorTenantFactory())
    developer = MembershipFactory(tenant=admin.tenant, role="developer").user
    assert portal_sign_in(Client(), developer).status_code == 302

    logins = {event["details"]["method"]: event for event in _listed(admin_api, "login")}
    assert logins["session"]["actor_email"] == developer.email
    assert logins["session"]["target"] == developer.email
    assert logins["session"]["details"] == {"method": "session", "role": "developer", "mfa": False}
    assert logins["jwt"]["details"] == {"method": "jwt", "role": "admin", "mfa": False}


def test_a_portal_sign_in_with_a_code_is_one_event_saying_so():
    membership = MembershipFactory(tenant=VendorTenantFactory(), role="admin")
    device = TOTPDeviceFactory(user=membership.user)
    assert portal_sign_in(Client(), membership.user, device).status_code == 302
    login = AuditEvent.objects.get(action="login", actor=membership.user)
    assert login.tenant == membership.tenant
    assert login.details == {"method": "session", "role": "admin", "mfa": True}


def test_an_admin_sign_in_is_one_staff_event_without_a_tenant(staff):
    device = TOTPDeviceFactory(user=staff)
    assert admin_login(Client(), staff, device).status_code == 302
    login = AuditEvent.objects.get(action="login", actor=staff)
    assert login.tenant is None
    assert login.target == staff.email
    assert login.details == {"method": "session", "role": None, "mfa": True}


def test_an_api_sign_out_names_who_signed_out(api):
    membership = MembershipFactory(role="developer")
    tokens = sign_in(api, membership.user)
    assert (
        api.post("/api/v1/auth/logout", {"refresh": tokens["refresh"]}, format="json").status_code
        == 204
    )
    logout = AuditEvent.objects.get(action="logout")
    assert (logout.actor, logout.actor_email) == (membership.user, membership.user.email)
    assert logout.target == membership.user.email
    assert logout.tenant == membership.tenant
    assert logout.details["method"] == "jwt" and logout.details["jti"]


def test_a_portal_sign_out_is_recorded_as_the_apis_is():
    membership = MembershipFactory(tenant=VendorTenantFactory(), role="developer")
    client = Client()
    portal_sign_in(client, membership.user)
    assert client.post("/portal/sign-out/").status_code == 302
    logout = AuditEvent.objects.get(action="logout")
    assert (logout.actor, logout.target) == (membership.user, membership.user.email)
    assert logout.tenant == membership.tenant
    assert logout.details == {"method": "session"}


def test_an_admin_sign_out_is_recorded(staff):
    client = Client()
    admin_login(client, staff, TOTPDeviceFactory(user=staff))
    assert client.post("/admin/logout/").status_code == 200
    logout = AuditEvent.objects.get(action="logout")
    assert (logout.actor, logout.target, logout.tenant) == (staff, staff.email, None)
    assert logout.details == {"method": "session"}
    assert client.get("/admin/").status_code == 302
