"""Query budgets: a list costs the same number of queries at any page size, a detail stays
under its stated budget however much the object holds. An N+1 fails here, not in production.

Every request also pays for authentication: the user with their tenant membership (1 query).
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from certification.models import CertificationRun
from edgeplug.audit.services import record_event
from tests.factories import (
    AgentFactory,
    AgentVersionFactory,
    CertificationRunFactory,
    MembershipFactory,
    VendorKeyFactory,
    WorkflowPackageFactory,
)

pytestmark = pytest.mark.django_db

ITEMS = 55  # more than the larger page, so both pages are full


def _queries(client, url: str, **params) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params)
    assert response.status_code == 200, response.content
    return len(ctx)


def _same_at_page_sizes(client, url: str, budget: int) -> None:
    small = _queries(client, url, page_size=5)
    large = _queries(client, url, page_size=50)
    assert small == large, f"{url}: {small} queries for 5 rows, {large} for 50"
    assert large <= budget, f"{url}: {large} queries, budget {budget}"


@pytest.fixture
def catalogue(vendor, make_vendor):
    """55 public agents of two vendors, some with several versions and unpublished ones."""
    rival = make_vendor(slug="rival-robotics").tenant
    for n in range(ITEMS):
        agent = AgentFactory(tenant=vendor.tenant if n % 2 else rival)
        AgentVersionFactory(agent=agent, version="1.0.0", public=True)
        if n % 3 == 0:
            AgentVersionFactory(agent=agent, version="1.1.0", public=True)
            AgentVersionFactory(agent=agent, version="2.0.0-rc.1")  # the vendor's own
    return vendor


def test_agent_list_costs_the_same_at_any_page_size(catalogue, member_client):
    customer, _ = member_client("developer")
    # authentication, the cached catalogue's generation, count, agents with their listings,
    # their visible versions (signing keys joined), and the facet counts (one query per
    # facet): the same at every page size
    _same_at_page_sizes(customer, "/api/v1/agents", budget=10)
    _same_at_page_sizes(catalogue.client, "/api/v1/agents", budget=10)  # never cached


def test_a_cached_agent_list_costs_only_authentication_and_what_the_tenant_owns(
    catalogue, member_client
):
    customer, _ = member_client("developer")
    _queries(customer, "/api/v1/agents", page_size=20)
    # the catalogue's generation, which says whether the cached answer is current (a row in
    # the database, not in the cache beside the answers: a cache restored from an older
    # snapshot brought both back), and whether the tenant owns versions, which decides if it
    # may share the cached catalogue
    assert _queries(customer, "/api/v1/agents", page_size=20) == 3


def test_agent_detail_costs_the_same_with_one_version_or_forty(vendor, member_client):
    customer, _ = member_client("developer")
    small = AgentVersionFactory(agent=AgentFactory(tenant=vendor.tenant), public=True).agent
    big = AgentFactory(tenant=vendor.tenant)
    for n in range(40):
        AgentVersionFactory(agent=big, version=f"1.{n}.0", public=n % 4 != 0)
    for client, budget in ((customer, 9), (vendor.client, 8)):
        counts = {_queries(client, f"/api/v1/agents/{a.pk}") for a in (small, big)}
        # auth, the cached catalogue's generation, the agent with its listing, its visible
        # versions, the yanked ones kept for the record, their certificates, the plans, the
        # rating (average and histogram in one), and, for a customer, whether its tenant owns
        # versions (may it share the cached catalogue; a vendor is taken to without asking)
        assert counts == {budget}, counts


def test_version_detail_budget(vendor, member_client):
    version = AgentVersionFactory(agent=AgentFactory(tenant=vendor.tenant), public=True)
    customer, _ = member_client("developer")
    url = f"/api/v1/agents/{version.agent_id}/versions/{version.version}"
    assert _queries(customer, url) <= 2  # auth + the version with its agent and key


def test_vendor_key_list_costs_the_same_at_any_page_size(vendor):
    VendorKeyFactory.create_batch(ITEMS, tenant=vendor.tenant)
    _same_at_page_sizes(vendor.client, "/api/v1/vendor/keys", budget=3)


def test_wpk_list_costs_the_same_at_any_page_size(vendor):
    WorkflowPackageFactory.create_batch(ITEMS, tenant=vendor.tenant, signing_key=vendor.key)
    # + whether the caller is a reviewer (reviewers see every WPK)
    _same_at_page_sizes(vendor.client, "/api/v1/wpk/list", budget=4)


def test_certification_queue_costs_the_same_at_any_page_size(vendor):
    agent = AgentFactory(tenant=vendor.tenant)
    for n in range(ITEMS):
        version = AgentVersionFactory(agent=agent, version=f"0.{n}.0")
        CertificationRun.objects.create(
            version=version, tenant=vendor.tenant, level="basic", pipeline_version="1"
        )
    # + whether the caller is a reviewer (reviewers see every run)
    _same_at_page_sizes(vendor.client, "/api/v1/certification/queue", budget=4)


def test_certification_run_detail_budget(vendor):
    version = AgentVersionFactory(agent=AgentFactory(tenant=vendor.tenant))
    run = CertificationRun.objects.create(
        version=version, tenant=vendor.tenant, level="basic", pipeline_version="1"
    )
    # auth + reviewer check + the run (version, agent, certificate joined) + its results
    assert _queries(vendor.client, f"/api/v1/certification/{run.pk}") <= 4


def test_member_list_costs_the_same_at_any_page_size(member_client):
    admin, membership = member_client("admin")
    MembershipFactory.create_batch(ITEMS, tenant=membership.tenant, role="developer")
    _same_at_page_sizes(admin, "/api/v1/tenant/members", budget=3)


def test_order_list_costs_the_same_at_any_page_size(vendor, member_client):
    """Each order names its agent by id and by name (agent_name): the agent is read with it."""
    from tests.factories import OrderFactory, PricePlanFactory

    admin, membership = member_client("admin")
    for _ in range(ITEMS):
        plan = PricePlanFactory(agent=AgentFactory(tenant=vendor.tenant))
        OrderFactory(tenant=membership.tenant, plan=plan)
    # authentication, count, the orders with their agents and plans
    _same_at_page_sizes(admin, "/api/v1/orders", budget=4)


def test_a_devices_deployment_list_costs_the_same_at_any_page_size(vendor, member_client):
    from marketplace.models import Deployment
    from tests.factories import DeviceFactory

    admin, membership = member_client("admin")
    device = DeviceFactory(tenant=membership.tenant)
    for _ in range(ITEMS):
        version = AgentVersionFactory(agent=AgentFactory(tenant=vendor.tenant), public=True)
        Deployment.objects.create(
            tenant=membership.tenant, device=device, agent=version.agent, version=version
        )
    # authentication, the device, count, the deployments with their agents and versions
    _same_at_page_sizes(admin, f"/api/v1/devices/{device.pk}/deployments", budget=5)


def test_audit_event_list_costs_the_same_at_any_page_size(member_client):
    admin, membership = member_client("admin")
    for n in range(ITEMS):
        record_event("test_event", tenant=membership.tenant, target=f"thing {n}")
    _same_at_page_sizes(admin, "/api/v1/tenant/audit-events", budget=3)


def test_an_upload_costs_no_more_to_an_agent_with_forty_public_versions_than_to_a_new_one(
    vendor, media_root
):
    """An upload reads one row per question whatever the agent holds: it never lists the
    agent's versions, and it never rebuilds the catalogue listing (a new version is not
    public, so nothing customers see changes)."""
    from marketplace.catalogue import refresh_listing
    from tests.vendors import package

    def upload(version: str) -> tuple[int, int]:
        rows: list[int] = []

        def counted(execute, sql, params, many, context):
            result = execute(sql, params, many, context)
            if sql.lstrip().upper().startswith("SELECT"):
                rows.append(context["cursor"].rowcount)
            return result

        with CaptureQueriesContext(connection) as ctx, connection.execute_wrapper(counted):
            response = vendor.upload(package(version=version))
        assert response.status_code == 201, response.content
        return len(ctx), max(rows)

    vendor.upload(package(version="0.1.0"))  # creates the agent
    young = upload("0.2.0")  # no public version yet, no listing
    agent = AgentVersionFactory._meta.model.objects.get(version="0.1.0").agent
    for n in range(40):
        AgentVersionFactory(agent=agent, version=f"1.{n}.0", public=True)
    refresh_listing(agent)
    grown = upload("2.0.0")
    # auth, the key, the duplicate check, the key held again as the version is written (a
    # revocation meanwhile refuses it), the agent, the insert, the card, the audit event, the
    # response's newest version with its agent and listing joined; inside the test's
    # transaction the upload's atomic block adds a savepoint and its release
    assert grown[0] <= 11, (young, grown)
    # Before any version is public the card takes one more read (no newest public version:
    # the newest upload), each one entry of an index in newest_first order.
    assert young[0] == grown[0] + 1, (young, grown)
    if connection.vendor == "postgresql":  # SQLite does not count the rows of a SELECT
        assert grown[1] <= 2, f"a query read {grown[1]} rows"


def test_a_devices_assignments_cost_the_same_with_one_deployment_or_six(vendor):
    """Every deployment is judged with the others: its certificate, the review decision in
    force (a version certified again awaits review) and, when it lapsed, the tenant's
    entitlement statuses are read once for all of them."""
    from marketplace.devices import assignments_for
    from marketplace.models import Deployment, ReviewStatus
    from tests.factories import DeviceFactory, EntitlementFactory, simulated_certificate

    customer = MembershipFactory(role="admin").tenant

    def device_with(count: int):
        device = DeviceFactory(tenant=customer)
        for n in range(count):
            version = AgentVersionFactory(agent=AgentFactory(tenant=vendor.tenant), public=True)
            simulated_certificate(version)
            if n % 2:  # the others lapsed: no entitlement
                EntitlementFactory(order__tenant=customer, order__plan__agent=version.agent)
            if n % 3 == 0:  # certified again, awaiting review
                version.review_status = ReviewStatus.PENDING
                version.save(update_fields=["review_status"])
            Deployment.objects.create(
                tenant=customer, device=device, agent=version.agent, version=version
            )
        return device

    def queries(device) -> tuple[int, dict]:
        with CaptureQueriesContext(connection) as ctx:
            result = assignments_for(device)
        return len(ctx), result

    one, six = device_with(1), device_with(6)
    (few, small), (many, large) = queries(one), queries(six)
    assert (len(small.run), len(small.stop)) == (0, 1)
    assert (len(large.run), len(large.stop)) == (3, 3)
    assert few == many <= 6, (few, many)


@pytest.mark.parametrize("query", ["", "?queue=review"])
def test_the_admins_run_list_costs_the_same_with_three_runs_or_forty_three(admin_session, query):
    """Each row's version names its vendor: a query a row before (54 for 43 runs, 14 for 3)."""
    client, _ = admin_session("reviewers")
    runs = "/admin/certification/certificationrun/" + query

    def listed() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(runs).status_code == 200
        return len(ctx)

    CertificationRunFactory.create_batch(3)
    few = listed()
    CertificationRunFactory.create_batch(40)
    assert listed() == few
