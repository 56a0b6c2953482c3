"""An id or key in a request's body or query string that names nothing the caller may see is
``400 unknown_<thing>`` naming the field, and the answer is the same for an object that does
not exist and for another tenant's one the caller may not see (docs/roles.md, *An id in the
URL, the body or the query string*). Ids in the URL stay 404: test_tenant_matrix.py."""

import pytest
from django.utils import timezone

from certification.models import CertificationRun
from edgeplug.tenancy.models import Membership
from marketplace import plans
from marketplace.models import Agent, AgentVersion, Deployment, Order
from tests.commerce.conftest import buy_free, place_order
from tests.commerce.test_deployments import register
from tests.vendors import package

pytestmark = pytest.mark.django_db

MISSING = 999999  # an id no object has


def assert_unknown(response, code: str, field: str, thing: str, value) -> None:
    """The one answer for an id naming nothing the caller may see: only the value it sent
    differs between a missing object and a hidden one."""
    assert response.status_code == 400, response.json()
    assert response.json() == {
        "code": code,
        "detail": f"{field}: there is no {thing} {value!r} that you can see.",
        "field": field,
    }


@pytest.fixture
def hidden(vendor, published):
    """What tenant A (the vendor acme-robotics, with the public agent ``published``) has that
    nobody else may see: an agent never released with a plan, and an unreleased version 2.0.0
    of the public agent."""
    unreleased = Agent.objects.get(
        pk=vendor.upload(package("1.0.0", name="valve-guard")).json()["agent"]["id"]
    )
    newer = vendor.upload(package("2.0.0"))
    assert newer.status_code == 201, newer.json()
    plan = plans.create_plan(unreleased, key="free-plan", name="free plan", kind="free")
    return {"agent": unreleased, "plan": plan, "version": "2.0.0"}


def test_an_order_naming_a_missing_or_hidden_plan_is_unknown_plan(customer, agent, hidden):
    client, _ = customer
    missing = place_order(client, agent, MISSING, "k1")
    other = place_order(client, agent, hidden["plan"], "k2")
    assert_unknown(missing, "unknown_plan", "plan", "plan", MISSING)
    assert_unknown(other, "unknown_plan", "plan", "plan", hidden["plan"].pk)
    assert not Order.objects.exists()


def test_an_order_naming_a_missing_or_hidden_agent_is_unknown_agent(
    customer, agent, make_plan, hidden
):
    client, _ = customer
    plan = make_plan("free")
    missing = place_order(client, MISSING, plan, "k1")
    other = place_order(client, hidden["agent"], plan, "k2")
    assert_unknown(missing, "unknown_agent", "agent", "agent", MISSING)
    assert_unknown(other, "unknown_agent", "agent", "agent", hidden["agent"].pk)
    assert not Order.objects.exists()


def test_a_deployment_naming_a_missing_or_hidden_agent_is_unknown_agent(customer, hidden):
    client, _ = customer
    device = register(client, "hw-1")
    url = f"/api/v1/devices/{device['device']['id']}/deployments"
    missing = client.post(url, {"agent": MISSING, "version": "1.0.0"}, format="json")
    other = client.post(url, {"agent": hidden["agent"].pk, "version": "1.0.0"}, format="json")
    assert_unknown(missing, "unknown_agent", "agent", "agent", MISSING)
    assert_unknown(other, "unknown_agent", "agent", "agent", hidden["agent"].pk)
    assert not Deployment.objects.exists()


def test_a_deployment_naming_a_missing_or_hidden_version_is_unknown_version(
    customer, agent, hidden
):
    client, _ = customer
    device = register(client, "hw-1")
    url = f"/api/v1/devices/{device['device']['id']}/deployments"
    missing = client.post(url, {"agent": agent.pk, "version": "9.9.9"}, format="json")
    other = client.post(url, {"agent": agent.pk, "version": hidden["version"]}, format="json")
    assert_unknown(missing, "unknown_version", "version", "version", "9.9.9")
    assert_unknown(other, "unknown_version", "version", "version", hidden["version"])
    assert not Deployment.objects.exists()


@pytest.fixture
def rival(make_vendor):
    """Tenant B: another vendor, with an agent of its own (rival-robotics/pump-anomaly)."""
    rival = make_vendor(slug="rival-robotics")
    uploaded = rival.upload(package("1.0.0", vendor="rival-robotics"))
    assert uploaded.status_code == 201, uploaded.json()
    rival.agent_id = uploaded.json()["agent"]["id"]
    return rival


def test_submitting_a_missing_or_hidden_version_for_certification_is_unknown(
    rival, published, hidden
):
    def submit(**body):
        return rival.client.post("/api/v1/certification/submit", body, format="json")

    assert_unknown(submit(version_id=MISSING), "unknown_version", "version_id", "version", MISSING)
    assert_unknown(
        submit(version_id=published.pk), "unknown_version", "version_id", "version", published.pk
    )
    by_name = {"version": "1.0.0"}
    assert_unknown(
        submit(agent_id=MISSING, **by_name), "unknown_agent", "agent_id", "agent", MISSING
    )
    assert_unknown(
        submit(agent_id=published.agent_id, **by_name),
        "unknown_agent",
        "agent_id",
        "agent",
        published.agent_id,
    )
    own_agent = {"agent_id": rival.agent_id}
    assert_unknown(
        submit(version="9.9.9", **own_agent), "unknown_version", "version", "version", "9.9.9"
    )
    assert_unknown(
        submit(version=hidden["version"], **own_agent),
        "unknown_version",
        "version",
        "version",
        hidden["version"],
    )
    assert not CertificationRun.objects.exists()


def test_certifying_a_version_the_agent_does_not_have_is_unknown_version(rival, hidden):
    url = f"/api/v1/agents/{rival.agent_id}/certify"
    for version in ("9.9.9", hidden["version"]):  # none, and another agent's (A's) only
        response = rival.client.put(url, {"version": version}, format="json")
        assert_unknown(response, "unknown_version", "version", "version", version)
    assert not CertificationRun.objects.exists()


def test_adding_a_member_by_an_email_no_account_uses_is_unknown_user(member_client):
    client, membership = member_client("admin")
    response = client.post(
        "/api/v1/tenant/members", {"email": "ghost@example.com", "role": "operator"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "code": "unknown_user",
        "detail": "email: no EdgePlug account uses it: ask them to create one first.",
        "field": "email",
    }
    assert Membership.objects.filter(tenant=membership.tenant).count() == 1


def test_filtering_entitlements_by_a_missing_or_hidden_agent_is_unknown_agent(
    customer, agent, make_plan, hidden
):
    client, _ = customer
    buy_free(client, agent, make_plan)
    held = client.get("/api/v1/entitlements", {"agent": agent.pk})
    assert (held.status_code, held.json()["count"]) == (200, 1)
    missing = client.get("/api/v1/entitlements", {"agent": MISSING})
    other = client.get("/api/v1/entitlements", {"agent": hidden["agent"].pk})
    assert_unknown(missing, "unknown_agent", "agent", "agent", MISSING)
    assert_unknown(other, "unknown_agent", "agent", "agent", hidden["agent"].pk)
    # An id is a whole number in ASCII digits: 1.5 was read as agent 1 (int()), the id in
    # Arabic-Indic digits or padded with a space as the agent, and its entitlements listed.
    in_arabic = str(agent.pk).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    for not_an_id in (f"{agent.pk}.5", "1e3", "0x1", in_arabic, f" {agent.pk}", f"{agent.pk} "):
        refused = client.get("/api/v1/entitlements", {"agent": not_an_id})
        assert refused.status_code == 400, (not_an_id, refused.json())


def test_an_agent_held_still_filters_the_entitlements_once_it_left_the_catalogue(
    customer, agent, make_plan, published
):
    client, _ = customer
    buy_free(client, agent, make_plan)
    AgentVersion.objects.filter(agent=agent).update(yanked_at=timezone.now())
    held = client.get("/api/v1/entitlements", {"agent": agent.pk})
    assert (held.status_code, held.json()["count"]) == (200, 1)


def test_filtering_the_catalogue_by_a_missing_or_hidden_vendor_is_unknown_vendor(
    api, customer, rival, published
):
    client, _ = customer
    for caller in (api, client):  # anonymous, and a customer
        listed = caller.get("/api/v1/agents", {"vendor": "acme-robotics"})
        assert [a["id"] for a in listed.json()["results"]] == [published.agent_id]
        missing = caller.get("/api/v1/agents", {"vendor": "nobody"})
        other = caller.get("/api/v1/agents", {"vendor": "rival-robotics"})  # nothing released
        assert_unknown(missing, "unknown_vendor", "vendor", "vendor", "nobody")
        assert_unknown(other, "unknown_vendor", "vendor", "vendor", "rival-robotics")


def test_filtering_the_queue_by_a_missing_or_another_vendor_is_unknown_vendor(
    rival, vendor, staff_client
):
    own = rival.client.get("/api/v1/certification/queue", {"vendor": "rival-robotics"})
    assert own.status_code == 200
    # The short name in any case, as the catalogue's filter and sign-in take it.
    typed = rival.client.get("/api/v1/certification/queue", {"vendor": "Rival-Robotics"})
    assert typed.status_code == 200
    for slug in ("nobody", "acme-robotics"):
        response = rival.client.get("/api/v1/certification/queue", {"vendor": slug})
        assert_unknown(response, "unknown_vendor", "vendor", "vendor", slug)
    reviewer = staff_client("reviewers")
    listed = reviewer.get("/api/v1/certification/queue", {"vendor": "acme-robotics"})
    assert listed.status_code == 200
