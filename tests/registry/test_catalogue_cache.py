"""The public catalogue is cached, and never stale: approving, re-certifying or yanking a
version (through the API and the admin) changes what the next customer request shows."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from certification.certificates import platform_keys
from certification.models import CertificationRun
from marketplace.api.views import AgentList
from tests.conftest import changeform_data
from tests.factories import (
    AgentFactory,
    AgentVersionFactory,
    CertificationRunFactory,
    certificate_for,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(member_client):
    client, _ = member_client("admin")
    return client


def _listed(client) -> dict[int, str | None]:
    results = client.get("/api/v1/agents").json()["results"]
    return {a["id"]: (a["latest_version"] or {}).get("version") for a in results}


def _served_from_cache(client, url: str) -> bool:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    # A member's request still asks whether its tenant owns versions (marketplace_agentversion).
    return not any('"marketplace_agent"' in q["sql"] for q in ctx.captured_queries)


def test_a_customer_listing_is_served_from_the_cache_the_second_time(vendor, customer):
    AgentVersionFactory(agent=AgentFactory(tenant=vendor.tenant), public=True)
    first = customer.get("/api/v1/agents").json()
    assert _served_from_cache(customer, "/api/v1/agents")
    assert customer.get("/api/v1/agents").json() == first


def test_vendors_never_get_the_cached_public_view(vendor, customer):
    agent = AgentFactory(tenant=vendor.tenant)
    AgentVersionFactory(agent=agent, version="1.0.0", public=True)
    assert _listed(customer) == {agent.pk: "1.0.0"}
    AgentVersionFactory(agent=agent, version="2.0.0")  # unreviewed: the vendor's own
    assert _listed(vendor.client)[agent.pk] == "2.0.0"
    assert _listed(customer) == {agent.pk: "1.0.0"}


def test_an_anonymous_listing_is_served_from_the_cache_reading_only_its_generation(vendor, api):
    # The catalogue's generation, by its key: a row in the database, not in the cache beside
    # the answers (tests/commerce/test_catalogue_after_a_redis_crash.py).
    AgentVersionFactory(agent=AgentFactory(tenant=vendor.tenant), public=True)
    first = api.get("/api/v1/agents").json()
    with CaptureQueriesContext(connection) as ctx:
        assert api.get("/api/v1/agents").json() == first
    [query] = [q["sql"] for q in ctx.captured_queries]
    assert query.startswith('SELECT "marketplace_cataloguegeneration"."generation"'), query


def test_an_unpublished_agent_of_a_tenant_no_longer_marked_vendor_stays_its_own(
    vendor, api, admin_session
):
    # Staff untick "is vendor" in the admin; the tenant keeps its agents, and its members
    # still see their own unpublished ones, which no one else may see, from the cache or not.
    agent = AgentFactory(tenant=vendor.tenant)
    AgentVersionFactory(agent=agent, version="0.1.0")  # uncertified
    staff, _ = admin_session("platform-admins", is_superuser=True)
    url = f"/admin/tenancy/tenant/{vendor.tenant.pk}/change/"
    data = changeform_data(staff.get(url))
    data.pop("is_vendor")
    data["is_customer"] = "on"
    assert staff.post(url, data).status_code == 302
    vendor.tenant.refresh_from_db()
    assert not vendor.tenant.is_vendor

    detail = f"/api/v1/agents/{agent.pk}"
    assert _listed(vendor.client) == {agent.pk: "0.1.0"}
    assert vendor.client.get(detail).status_code == 200
    assert _listed(api) == {}
    assert api.get(detail).status_code == 404


def test_a_first_version_stored_while_its_tenants_listing_is_read_is_not_cached(
    vendor, api, monkeypatch
):
    # Whether a member may share the cache is asked after its listing read the rows.
    listing = AgentList._list_with_facets

    def upload_meanwhile(view, request):
        AgentVersionFactory(agent=AgentFactory(tenant=vendor.tenant), version="0.1.0")
        return listing(view, request)

    monkeypatch.setattr(AgentList, "_list_with_facets", upload_meanwhile)
    assert list(_listed(vendor.client).values()) == ["0.1.0"]
    monkeypatch.setattr(AgentList, "_list_with_facets", listing)
    assert _listed(api) == {}


def test_approval_in_the_admin_publishes_to_a_cached_listing(
    vendor, customer, django_capture_on_commit_callbacks, admin_session
):
    version = AgentVersionFactory(
        agent=AgentFactory(tenant=vendor.tenant), certification_status="certified"
    )
    run = CertificationRun.objects.create(
        version=version, tenant=vendor.tenant, level="basic", pipeline_version="1", status="passed"
    )
    detail = f"/api/v1/agents/{version.agent_id}"
    assert _listed(customer) == {}
    assert customer.get(detail).status_code == 404

    reviewer, _ = admin_session("reviewers")
    with django_capture_on_commit_callbacks(execute=True):
        reviewer.post(
            f"/admin/certification/certificationrun/{run.pk}/decide/",
            {"decision": "approve", "reason": "Every stage passed."},
        )

    assert _listed(customer) == {version.agent_id: version.version}
    assert customer.get(detail).json()["versions"][0]["review_status"] == "approved"


def test_a_yank_through_the_api_leaves_cached_list_and_detail(
    vendor, customer, django_capture_on_commit_callbacks
):
    agent = AgentFactory(tenant=vendor.tenant)
    AgentVersionFactory(agent=agent, version="1.0.0", public=True)
    AgentVersionFactory(agent=agent, version="1.1.0", public=True)
    detail = f"/api/v1/agents/{agent.pk}"
    assert _listed(customer) == {agent.pk: "1.1.0"}
    assert [v["version"] for v in customer.get(detail).json()["versions"]] == ["1.1.0", "1.0.0"]

    with django_capture_on_commit_callbacks(execute=True):
        yank = vendor.client.post(f"{detail}/versions/1.1.0/yank", {"reason": "CVE"})
    assert yank.status_code == 200

    assert _listed(customer) == {agent.pk: "1.0.0"}
    versions = customer.get(detail).json()["versions"]  # a yanked version stays, marked
    assert [(v["version"], v["yanked"]) for v in versions] == [("1.1.0", True), ("1.0.0", False)]


def test_certifying_a_public_version_again_takes_it_off_the_cached_catalogue(
    vendor, customer, django_capture_on_commit_callbacks
):
    version = AgentVersionFactory(agent=AgentFactory(tenant=vendor.tenant), public=True)
    assert _listed(customer) == {version.agent_id: version.version}

    with django_capture_on_commit_callbacks(execute=True):
        response = vendor.client.put(
            f"/api/v1/agents/{version.agent_id}/certify", {"level": "basic"}, format="json"
        )
    assert response.status_code == 202, response.json()

    # Until the new run passes and is reviewed, customers do not see the version.
    assert _listed(customer) == {}
    assert customer.get(f"/api/v1/agents/{version.agent_id}").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_a_committed_yank_is_seen_at_once_without_test_hooks(vendor, customer):
    # Real commits: the invalidation runs when the yank's transaction commits.
    agent = AgentFactory(tenant=vendor.tenant)
    AgentVersionFactory(agent=agent, version="1.0.0", public=True)
    assert _listed(customer) == {agent.pk: "1.0.0"}
    vendor.client.post(f"/api/v1/agents/{agent.pk}/versions/1.0.0/yank", {"reason": "recall"})
    assert _listed(customer) == {}


def test_a_platform_key_withdrawn_from_the_key_ring_is_not_answered_from_the_cache(
    vendor, api, settings
):
    """The agent page shows its versions' certificates; once the key that signed one no longer
    vouches (the key ring is configuration), an entry cached before is not served."""
    version = AgentVersionFactory(agent=AgentFactory(tenant=vendor.tenant), public=True)
    certificate_for(CertificationRunFactory(version=version, status="passed"))
    url = f"/api/v1/agents/{version.agent_id}"
    [before] = api.get(url).json()["versions"]
    assert before["certificate"] is not None
    new = platform_keys.generate_key_entry()
    settings.PLATFORM_SIGNING_KEYS = json.dumps({"keys": [new], "active": new["key_id"]})
    [after] = api.get(url).json()["versions"]
    assert after["certificate"] is None
