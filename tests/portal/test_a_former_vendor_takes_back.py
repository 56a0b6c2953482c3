"""A former vendor (staff unticked "is vendor"; it keeps its agents, and what of them is public
stays on sale) takes back on the portal what it may at the API (``marketplace.powers.TAKE_BACK``):
its admins and developers find its versions, plans and keys, yank, retire and revoke; nothing
there adds or sells anew (``PUBLISH``). Until 2026-12-06 every such page answered
``not_a_vendor``."""

import pytest

from tests.factories import AgentVersionFactory, PricePlanFactory, approved_certification
from tests.portal.test_links_lead_only_where_the_member_may_go import _assert_every_link_opens

pytestmark = pytest.mark.django_db


@pytest.fixture
def former_seller(portal_vendor):
    """``former_seller(role)``: a member of that role signed in to a former vendor whose
    version 1.0.0 is public, with a plan on sale: (vendor, version, plan)."""
    version = AgentVersionFactory(version="1.0.0")
    approved_certification(version)
    plan = PricePlanFactory(agent=version.agent, kind="free", name="Trial")
    tenant = version.tenant
    tenant.is_vendor, tenant.is_customer = False, True
    tenant.save(update_fields=["is_vendor", "is_customer"])
    return lambda role: (portal_vendor(role=role, tenant=tenant), version, plan)


@pytest.mark.parametrize("role", ["admin", "developer"])
def test_a_former_vendors_publishers_yank_retire_and_revoke_on_the_portal(former_seller, role):
    vendor, version, plan = former_seller(role)
    client, agent = vendor.client, version.agent_id
    page = client.get(f"/portal/agents/{agent}/versions/1.0.0/")
    assert page.status_code == 200 and "Yank 1.0.0" in page.content.decode()
    yanked = client.post(f"/portal/agents/{agent}/versions/1.0.0/yank/", {"reason": "Crashes."})
    pricing = client.get(f"/portal/agents/{agent}/pricing/")
    retire = f"/portal/agents/{agent}/pricing/{plan.pk}/retire/"
    assert pricing.status_code == 200 and f'href="{retire}"' in pricing.content.decode()
    retired = client.post(retire)
    keys = client.get("/portal/keys/")
    revoke = f"/portal/keys/{vendor.key.key_id}/revoke/"
    assert keys.status_code == 200 and f'href="{revoke}"' in keys.content.decode()
    revoked = client.post(revoke)

    assert [r.status_code for r in (yanked, retired, revoked)] == [302] * 3
    version.refresh_from_db()
    plan.refresh_from_db()
    vendor.key.refresh_from_db()
    assert version.yanked_at and plan.retired_at and vendor.key.revoked_at


def test_a_former_vendors_pages_offer_nothing_new_and_refuse_it(former_seller):
    vendor, version, plan = former_seller("admin")
    client, agent = vendor.client, version.agent_id
    pages = [
        "/portal/",
        f"/portal/agents/{agent}/",
        "/portal/keys/",
        f"/portal/agents/{agent}/pricing/",
        f"/portal/agents/{agent}/versions/1.0.0/",
    ]
    html = [client.get(page).content.decode() for page in pages]
    for page in html:  # every link they offer opens
        _assert_every_link_opens(client, page)
    keys, pricing, version_page = html[2:]
    assert "Register a key" not in keys
    assert "Offer a plan" not in pricing and "Change name or price" not in pricing
    assert "Submit for certification" not in version_page
    refused = [
        client.post("/portal/keys/", {"public_key": "x"}),
        client.post(f"/portal/agents/{agent}/pricing/", {"key": "t", "name": "T", "kind": "free"}),
        client.get(f"/portal/agents/{agent}/pricing/{plan.pk}/revise/"),
        client.post(f"/portal/agents/{agent}/versions/1.0.0/certify/", {"level": "basic"}),
        client.get("/portal/upload/"),
    ]
    assert [r.status_code for r in refused] == [403] * 5
    assert version.agent.plans.count() == 1


@pytest.mark.parametrize("role", ["operator", "billing"])
def test_a_former_vendors_other_members_are_told_the_pages_are_for_its_publishers(
    former_seller, role
):
    """As docs/roles.md says: they take nothing back, and are refused its pages (403)."""
    vendor, version, _ = former_seller(role)
    for page in ("/portal/", f"/portal/agents/{version.agent_id}/", "/portal/keys/"):
        answer = vendor.client.get(page)
        assert answer.status_code == 403
        assert "whose role is\n    Admin or Developer" in answer.content.decode()


@pytest.mark.parametrize("is_vendor", [True, False])
def test_a_vendor_power_also_asks_what_its_tenant_must_be(former_seller, is_vendor):
    """``VendorPower`` read its own rule only and dropped ``tenant_qualifies``, which any
    ``TenantPower`` may add (a vendor with payouts …): a tenant that does not qualify holds it
    in no role, a vendor's or a former vendor's."""
    from edgeplug.tenancy.models import Role
    from marketplace.powers import VendorPower

    _, version, _ = former_seller("admin")
    tenant = version.tenant
    tenant.is_vendor = is_vendor
    roles = (Role.ADMIN, Role.DEVELOPER)
    power = VendorPower(roles=roles, former_roles=roles, tenant_qualifies=lambda t: False)
    assert power.roles_in(tenant) == ()
    assert not power.held(tenant, Role.ADMIN)
    assert VendorPower(roles=roles, former_roles=roles).held(tenant, Role.ADMIN)
