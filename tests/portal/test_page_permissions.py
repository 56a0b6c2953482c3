"""Whose pages are whose: another vendor's things are 404s, roles limit what a member may do."""

import pytest

from marketplace.plans import create_plan
from tests.factories import (
    AgentVersionFactory,
    CertificationRunFactory,
    MembershipFactory,
    ReviewFactory,
    VendorKeyFactory,
    VendorTenantFactory,
    WorkflowPackageFactory,
    certificate_for,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_vendors_things():
    tenant = VendorTenantFactory(slug="rival-robotics")
    version = AgentVersionFactory(agent__tenant=tenant, certified=True)
    run = CertificationRunFactory(version=version, results=True)
    certificate_for(run)
    wpk = WorkflowPackageFactory(tenant=tenant)
    member = MembershipFactory(tenant=tenant, role="developer")
    return {
        "version": version,
        "review": ReviewFactory(agent=version.agent),
        "plan": create_plan(version.agent, key="trial", name="Trial", kind="free"),
        "key": VendorKeyFactory(tenant=tenant),
        "wpk": wpk,
        "member": member,
    }


def test_another_vendors_things_are_not_found(portal_vendor, other_vendors_things):
    client = portal_vendor("admin").client
    v, key = other_vendors_things["version"], other_vendors_things["key"]
    base = f"/portal/agents/{v.agent_id}/versions/{v.version}/"
    review, plan = other_vendors_things["review"], other_vendors_things["plan"]
    revise = f"/portal/agents/{v.agent_id}/pricing/{plan.pk}/revise/"
    for path in (
        f"/portal/agents/{v.agent_id}/",
        f"/portal/agents/{v.agent_id}/pricing/",
        revise,
        f"/portal/agents/{v.agent_id}/reviews/",
        base,
        f"{base}runs.json",
        f"{base}certificate.json",
        f"/portal/agents/{v.agent_id}/pricing/{plan.pk}/retire/",
    ):
        assert client.get(path).status_code == 404, path
    reply = f"/portal/agents/{v.agent_id}/reviews/{review.pk}/reply/"
    retire = f"/portal/agents/{v.agent_id}/pricing/{plan.pk}/retire/"
    for path in (f"{base}yank/", f"{base}certify/", reply, revise, retire):
        body = {"reason": "x", "level": "basic", f"review-{review.pk}-text": "Try ours"}
        body |= {"name": "Ours now"}
        assert client.post(path, body).status_code == 404, path
    assert client.get(f"/portal/keys/{key.key_id}/revoke/").status_code == 404
    assert client.post(f"/portal/keys/{key.key_id}/revoke/").status_code == 404
    assert client.get(f"/portal/workflows/{other_vendors_things['wpk'].pk}/").status_code == 404
    member = other_vendors_things["member"]
    assert (
        client.post(f"/portal/team/{member.pk}/role/", {f"m{member.pk}-role": "admin"}).status_code
        == 404
    )
    assert client.get(f"/portal/team/{member.pk}/remove/").status_code == 404
    assert client.post(f"/portal/team/{member.pk}/remove/").status_code == 404
    key.refresh_from_db()
    v.refresh_from_db()
    member.refresh_from_db()
    review.refresh_from_db()
    assert key.revoked_at is None and v.yanked_at is None and member.role == "developer"
    assert review.vendor_reply_at is None
    plan.refresh_from_db()
    assert (plan.name, plan.retired_at) == ("Trial", None)


def test_another_vendors_things_do_not_show_on_the_dashboard(portal_vendor, other_vendors_things):
    page = portal_vendor("developer").client.get("/portal/").content.decode()
    assert other_vendors_things["version"].agent.name not in page


def test_a_developer_cannot_manage_the_team(portal_vendor):
    developer = portal_vendor("developer")
    admin = MembershipFactory(tenant=developer.tenant, role="admin")
    page = developer.client.get("/portal/team/")
    assert page.status_code == 403
    assert "Your role does not allow this" in page.content.decode()
    # The roles in the words the team page's role list uses, the member's own too.
    assert (
        f"This page is for members of {developer.tenant.name} whose role is Admin; your role "
        "is Developer (may upload and sign)." in " ".join(page.content.decode().split())
    )
    changed = developer.client.post(
        f"/portal/team/{admin.pk}/role/", {f"m{admin.pk}-role": "billing"}
    )
    assert changed.status_code == 403
    assert developer.client.get(f"/portal/team/{admin.pk}/remove/").status_code == 403
    assert developer.client.post(f"/portal/team/{admin.pk}/remove/").status_code == 403
    admin.refresh_from_db()
    assert admin.role == "admin"
    assert 'href="/portal/team/"' not in developer.client.get("/portal/").content.decode()


@pytest.mark.parametrize("path", ["/portal/upload/", "/portal/keys/"])
def test_operators_and_billing_cannot_publish(portal_vendor, path):
    client = portal_vendor("operator").client
    assert client.get(path).status_code == 403
    assert client.post(path, {}).status_code == 403


@pytest.mark.parametrize("role", ["operator", "billing"])
@pytest.mark.parametrize("page", ["pricing/", "pricing/{plan}/revise/", "pricing/{plan}/retire/"])
def test_operators_and_billing_cannot_price(portal_vendor, role, page):
    vendor = portal_vendor(role)
    version = AgentVersionFactory(agent__tenant=vendor.tenant)
    plan = create_plan(version.agent, key="trial", name="Trial", kind="free")
    path = f"/portal/agents/{version.agent_id}/{page.format(plan=plan.pk)}"
    assert vendor.client.get(path).status_code == 403
    body = {"key": "paid", "name": "Paid", "kind": "free"}
    assert vendor.client.post(path, body).status_code == 403
    plan.refresh_from_db()
    assert (plan.name, plan.retired_at, version.agent.plans.count()) == ("Trial", None, 1)


@pytest.mark.parametrize("role", ["operator", "billing"])
def test_operators_and_billing_read_reviews_but_cannot_reply(portal_vendor, role):
    vendor = portal_vendor(role)
    client = vendor.client
    review = ReviewFactory(agent__tenant=vendor.tenant)
    assert client.get(f"/portal/agents/{review.agent_id}/reviews/").status_code == 200
    reply = f"/portal/agents/{review.agent_id}/reviews/{review.pk}/reply/"
    assert client.post(reply, {f"review-{review.pk}-text": "Thanks"}).status_code == 403


def test_a_member_whose_membership_ended_is_shown_the_vendor_page(portal_vendor):
    vendor = portal_vendor("developer")
    vendor.membership.delete()
    page = vendor.client.get("/portal/")
    assert page.status_code == 403
    assert "This portal is for vendors" in page.content.decode()


def test_a_role_change_applies_on_the_next_page(portal_vendor):
    vendor = portal_vendor("developer")
    assert vendor.client.get("/portal/upload/").status_code == 200
    vendor.membership.role = "billing"
    vendor.membership.save()
    assert vendor.client.get("/portal/upload/").status_code == 403
