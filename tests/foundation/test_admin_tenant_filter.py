"""Admin lists filtered "by tenant" offer the tenants their rows name, not every tenant of the
platform: Django's RelatedFieldListFilter read the whole tenant table and linked each tenant
(2,002 links for rows of 2 tenants) on the reviewers' certification queue, workflow
packages, scan findings, money to give back and the audit log (``TENANT_FILTER``,
``HeldRelatedFilter`` in edgeplug/core/admin.py). Each link, followed as a click does, lists
that tenant's rows alone."""

from urllib.parse import parse_qsl

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.models import MoneyToGiveBack  # noqa: F401 - registers the proxy's admin
from certification.models import Advisory, ScanFinding
from edgeplug.audit.services import record_event
from edgeplug.tenancy.models import Tenant
from tests.factories import (
    AgentVersionFactory,
    CertificationRunFactory,
    TenantFactory,
    WorkflowPackageFactory,
)

pytestmark = pytest.mark.django_db

CUSTOMERS = 300


def _runs():
    return [run.tenant for run in CertificationRunFactory.create_batch(2)]


def _workflows():
    return [package.tenant for package in WorkflowPackageFactory.create_batch(2)]


def _money_back():
    tenants = [TenantFactory(), TenantFactory()]
    for n, tenant in enumerate(tenants):
        record_event(
            "invoice_overpaid",
            tenant=tenant,
            target=f"invoice {n}",
            details={"excess": 100, "currency": "eur", "payment_intent": f"pi_{n}"},
        )
    return tenants


def _findings():
    now = timezone.now()
    tenants = []
    for n in range(2):
        version = AgentVersionFactory()
        advisory = Advisory.objects.create(
            osv_id=f"GHSA-tenant-000{n}", modified=now, raw={}, imported_at=now, updated_at=now
        )
        ScanFinding.objects.create(
            tenant=version.tenant, version=version, advisory=advisory, severity="high"
        )
        tenants.append(version.tenant)
    return tenants


def _events():
    tenants = [TenantFactory(), TenantFactory()]
    for n, tenant in enumerate(tenants):
        record_event("member_added", tenant=tenant, target=f"member {n}")
    return tenants


LISTS = {
    "certification runs (review queue)": ("/admin/certification/certificationrun/", _runs),
    "workflow packages": ("/admin/marketplace/workflowpackage/", _workflows),
    "money to give back": ("/admin/billing/moneytogiveback/", _money_back),
    "scan findings": ("/admin/certification/scanfinding/", _findings),
    "audit log": ("/admin/audit/auditevent/", _events),
}


def _tenant_links(html: str) -> dict[int, str]:
    """The page's tenant filter links: tenant id -> the link's query string."""
    links = {}
    for part in html.split('href="?')[1:]:
        query = part.split('"', 1)[0].replace("&amp;", "&")
        if tenant := dict(parse_qsl(query)).get("tenant__id__exact"):
            links[int(tenant)] = query
    return links


@pytest.mark.parametrize("name", list(LISTS))
def test_the_tenant_filter_lists_the_tenants_the_list_holds(admin_session, name):
    url, make = LISTS[name]
    client, _ = admin_session("platform-admins", is_superuser=True)
    held = make()
    Tenant.objects.bulk_create(
        Tenant(name=f"Customer {n}", slug=f"customer-{n}", is_customer=True)
        for n in range(CUSTOMERS)
    )
    client.get(url)  # the session's first request caches what it reads
    with CaptureQueriesContext(connection) as ctx:
        page = client.get(url)
    assert page.status_code == 200
    every_tenant = [
        q["sql"][:90]
        for q in ctx.captured_queries
        if 'FROM "tenancy_tenant"' in q["sql"] and "WHERE" not in q["sql"]
    ]
    assert every_tenant == [], f"{name}: read every tenant"
    links = _tenant_links(page.content.decode())
    assert set(links) == {tenant.pk for tenant in held}, f"{name}: {len(links)} tenant links"

    # Followed as a click does: that tenant's rows, none other, nothing said ignored.
    followed = client.get(f"{url}?{links[held[1].pk]}")
    assert followed.status_code == 200
    assert not list(followed.context["messages"])
    rows = list(followed.context["cl"].result_list)
    assert rows and {row.tenant_id for row in rows} == {held[1].pk}
