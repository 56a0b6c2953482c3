"""A tenant whose "is vendor" staff unticked keeps its agents, and what of them is public stays
in the catalogue and on sale. What takes something back (yank a version, retire a plan, revoke
a signing key) stays with its admins and developers, as for a vendor; what adds or sells anew
(upload, register a key, a new plan, a price change, certify) does not (docs/roles.md,
``marketplace.powers``). Until 2026-12-06 it lost both: nobody could stop what kept being sold
and deployed in its name."""

import pytest

from tests.factories import (
    AgentVersionFactory,
    PricePlanFactory,
    TenantFactory,
    approved_certification,
)
from tests.vendors import _file, package

pytestmark = pytest.mark.django_db
KEYS = "/api/v1/vendor/keys"


def _plans(version) -> str:
    return f"/api/v1/vendor/agents/{version.agent_id}/plans"


def _take_back(client, version, plan) -> list:
    """Yank the version, retire the plan, revoke the key that signed the version: the
    answers."""
    yank = f"/api/v1/agents/{version.agent_id}/versions/{version.version}/yank"
    return [
        client.post(yank, {"reason": "Crashes on boot."}, format="json"),
        client.post(f"{_plans(version)}/{plan.pk}/retire"),
        client.post(f"{KEYS}/{version.signing_key.key_id}/revoke"),
    ]


@pytest.fixture
def former(member_client):
    """A vendor's public version with a plan on sale, then "is vendor" unticked; ``former(role)``
    signs a member of that role in: (client, version, plan)."""
    version = AgentVersionFactory(version="1.0.0")
    approved_certification(version)
    plan = PricePlanFactory(agent=version.agent, kind="free", name="Trial")
    tenant = version.tenant
    tenant.is_vendor, tenant.is_customer = False, True  # a tenant is one or the other
    tenant.save(update_fields=["is_vendor", "is_customer"])

    def sign_in(role: str):
        client, _ = member_client(role, tenant=tenant)
        return client, version, plan

    return sign_in


@pytest.mark.parametrize("role", ["admin", "developer"])
def test_a_former_vendors_publishers_take_back_what_it_still_sells(
    former, api, role, django_capture_on_commit_callbacks
):
    client, version, plan = former(role)
    agent = version.agent_id
    assert agent in [a["id"] for a in api.get("/api/v1/agents").json()["results"]]

    listed = client.get(KEYS)
    with django_capture_on_commit_callbacks(execute=True):  # the cached catalogue forgotten
        yanked, retired, revoked = _take_back(client, version, plan)

    assert [k["key_id"] for k in listed.json()["results"]] == [version.signing_key.key_id]
    assert (yanked.status_code, yanked.json()["yanked"]) == (200, True), yanked.json()
    assert retired.status_code == 200 and retired.json()["retired_at"], retired.json()
    assert (revoked.status_code, revoked.json()["active"]) == (200, False), revoked.json()
    assert agent not in [a["id"] for a in api.get("/api/v1/agents").json()["results"]]


@pytest.mark.parametrize("role", ["operator", "billing"])
def test_a_former_vendors_other_roles_take_back_nothing(former, role):
    refused = _take_back(*former(role))
    assert [r.status_code for r in refused] == [403] * 3


def test_a_former_vendor_adds_and_sells_nothing_anew(former):
    client, version, plan = former("admin")
    agent = version.agent_id
    data = package(version="1.1.0", vendor=version.tenant.slug)
    refused = {
        "upload": client.post(
            "/api/v1/agents/upload",
            {"package": _file(data), "signature": "x", "key_id": version.signing_key.key_id},
            format="multipart",
        ),
        "register a key": client.post(KEYS, {"public_key": "x"}, format="json"),
        "new plan": client.post(
            _plans(version), {"key": "t2", "name": "T2", "kind": "free"}, format="json"
        ),
        "price change": client.patch(
            f"{_plans(version)}/{plan.pk}", {"name": "Other"}, format="json"
        ),
        "certify": client.post(
            "/api/v1/certification/submit",
            {"agent": agent, "version": "1.0.0", "level": "basic"},
            format="json",
        ),
    }
    answers = {what: response.status_code for what, response in refused.items()}
    assert answers == dict.fromkeys(refused, 403), answers


def test_a_tenant_that_never_sold_is_still_no_vendor(member_client):
    """A customer with no agents of its own: refused as before (403), not looked up (404)."""
    client, _ = member_client("admin", tenant=TenantFactory(is_vendor=False, is_customer=True))
    refused = client.post(f"{KEYS}/ed25519:0000/revoke")
    assert (refused.status_code, refused.json()["code"]) == (403, "permission_denied")
