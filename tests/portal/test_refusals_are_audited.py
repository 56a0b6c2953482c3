"""A page the portal refuses (403) is audited as ``permission_denied``, as the API audits its
403s: the same action, the caller and their tenant, ``METHOD path`` and what was refused."""

import pytest
from rest_framework.test import APIClient

from edgeplug.audit.models import AuditEvent
from tests.conftest import sign_in
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def _denials():
    return list(AuditEvent.objects.filter(action="permission_denied"))


def test_a_developer_refused_the_team_page_is_audited_as_the_api_audits_it(portal_vendor):
    developer = portal_vendor("developer")
    assert developer.client.get("/portal/team/").status_code == 403
    [event] = _denials()
    assert (event.actor, event.tenant) == (developer.user, developer.tenant)
    assert event.target == "GET /portal/team/"
    assert event.details["view"] == "portal:team"
    assert event.details["code"] == "permission_denied"
    assert "Developer" in event.details["detail"]

    # The same member refused the same thing by the API: one more event of the same shape.
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {sign_in(api, developer.user)['access']}")
    response = api.post("/api/v1/tenant/members", {}, format="json")
    assert response.status_code == 403
    api_event = AuditEvent.objects.filter(action="permission_denied").latest("pk")
    assert (api_event.actor, api_event.tenant) == (developer.user, developer.tenant)
    assert api_event.target == "POST /api/v1/tenant/members"
    assert set(api_event.details) == set(event.details)
    assert api_event.details["code"] == "permission_denied"


def test_a_refused_write_is_audited_once(portal_vendor):
    developer = portal_vendor("developer")
    admin = MembershipFactory(tenant=developer.tenant, role="admin")
    refused = developer.client.post(f"/portal/team/{admin.pk}/remove/")
    assert refused.status_code == 403
    [event] = _denials()
    assert event.target == f"POST /portal/team/{admin.pk}/remove/"
    assert event.details["view"] == "portal:member-remove"


def test_someone_no_longer_a_vendor_member_is_audited(portal_vendor):
    vendor = portal_vendor("developer")
    vendor.membership.delete()
    assert vendor.client.get("/portal/").status_code == 403
    [event] = _denials()
    assert event.actor == vendor.user
    assert event.target == "GET /portal/"
    assert event.details["code"] == "not_a_vendor"


def test_a_page_allowed_writes_no_denial(portal_vendor):
    assert portal_vendor("admin").client.get("/portal/team/").status_code == 200
    assert _denials() == []
