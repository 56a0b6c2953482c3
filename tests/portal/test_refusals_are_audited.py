"""A page the portal refuses (403) is audited as ``permission_denied``, as the API audits its
403s: the same action, the caller and their tenant, ``METHOD path`` and what was refused."""

import pytest
from rest_framework.test import APIClient

from edgeplug.audit.models import AuditEvent
from marketplace.plans import create_plan, retire_plan
from tests.conftest import sign_in
from tests.factories import AgentFactory, MembershipFactory, ReviewFactory

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


def _assert_refused_alike(member, path: str, body: dict, view: str, api_request: tuple) -> None:
    """The member's POST of ``body`` to the portal's ``path`` is refused 403 and audited; so is
    ``api_request`` (method, URL, body) at the API, in an event of the same shape."""
    assert member.client.post(path, body).status_code == 403
    [event] = _denials()
    assert event.target == f"POST {path}"
    assert (event.details["view"], event.details["code"]) == (view, "permission_denied")

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {sign_in(api, member.user)['access']}")
    method, url, data = api_request
    assert getattr(api, method)(url, data, format="json").status_code == 403
    api_event = AuditEvent.objects.filter(action="permission_denied").latest("pk")
    assert (api_event.actor, api_event.tenant) == (member.user, member.tenant)
    assert set(api_event.details) == set(event.details)


def test_a_reply_refused_for_the_role_is_audited_as_the_api_audits_it(portal_vendor):
    operator = portal_vendor("operator")
    review = ReviewFactory(agent__tenant=operator.tenant)
    _assert_refused_alike(
        operator,
        f"/portal/agents/{review.agent_id}/reviews/{review.pk}/reply/",
        {f"review-{review.pk}-text": "Thanks"},
        "portal:review-reply",
        ("post", f"/api/v1/agents/{review.agent_id}/reviews/{review.pk}/reply", {"text": "Thanks"}),
    )


def test_a_reply_refused_for_its_text_is_no_denial(portal_vendor):
    """A 400 or 409 of the action (reply_required, already_replied) is not a 403: nothing
    is audited as refused."""
    developer = portal_vendor("developer")
    review = ReviewFactory(agent__tenant=developer.tenant)
    path = f"/portal/agents/{review.agent_id}/reviews/{review.pk}/reply/"
    assert developer.client.post(path, {f"review-{review.pk}-text": ""}).status_code == 400
    assert _denials() == []


def test_a_plan_change_refused_for_the_role_is_audited_as_the_api_audits_it(portal_vendor):
    billing = portal_vendor("billing")
    plan = create_plan(AgentFactory(tenant=billing.tenant), key="trial", name="Trial", kind="free")
    _assert_refused_alike(
        billing,
        f"/portal/agents/{plan.agent_id}/pricing/{plan.pk}/revise/",
        {"name": "Free for all"},
        "portal:plan-revise",
        ("patch", f"/api/v1/vendor/agents/{plan.agent_id}/plans/{plan.pk}", {"name": "Free"}),
    )


def test_a_retired_plans_change_refused_is_no_denial(portal_vendor):
    """``plan_retired`` is a 409 of the action, not a 403: nothing is audited as refused."""
    developer = portal_vendor("developer")
    plan = create_plan(
        AgentFactory(tenant=developer.tenant), key="trial", name="Trial", kind="free"
    )
    retire_plan(plan)
    path = f"/portal/agents/{plan.agent_id}/pricing/{plan.pk}/revise/"
    assert developer.client.post(path, {"name": "Again"}).status_code == 409
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
