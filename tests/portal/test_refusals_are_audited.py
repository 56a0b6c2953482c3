"""A page the portal refuses (403) is audited as ``permission_denied``, as the API audits its
403s: the same action, the caller and their tenant, ``METHOD path`` and what was refused."""

import pytest
from rest_framework.test import APIClient

from edgeplug.audit.models import AuditEvent
from tests.conftest import sign_in
from tests.factories import MembershipFactory, ReviewFactory

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


def test_a_reply_refused_for_the_role_is_audited_as_the_api_audits_it(portal_vendor):
    operator = portal_vendor("operator")
    review = ReviewFactory(agent__tenant=operator.tenant)
    path = f"/portal/agents/{review.agent_id}/reviews/{review.pk}/reply/"
    assert operator.client.post(path, {f"review-{review.pk}-text": "Thanks"}).status_code == 403
    [event] = _denials()
    assert event.target == f"POST {path}"
    assert (event.details["view"], event.details["code"]) == (
        "portal:review-reply",
        "permission_denied",
    )

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {sign_in(api, operator.user)['access']}")
    url = f"/api/v1/agents/{review.agent_id}/reviews/{review.pk}/reply"
    assert api.post(url, {"text": "Thanks"}, format="json").status_code == 403
    api_event = AuditEvent.objects.filter(action="permission_denied").latest("pk")
    assert (api_event.actor, api_event.tenant) == (operator.user, operator.tenant)
    assert set(api_event.details) == set(event.details)


def test_a_reply_refused_for_its_text_is_no_denial(portal_vendor):
    """A 400 or 409 of the action (reply_required, already_replied) is not a 403: nothing
    is audited as refused."""
    developer = portal_vendor("developer")
    review = ReviewFactory(agent__tenant=developer.tenant)
    path = f"/portal/agents/{review.agent_id}/reviews/{review.pk}/reply/"
    assert developer.client.post(path, {f"review-{review.pk}-text": ""}).status_code == 400
    assert _denials() == []


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
