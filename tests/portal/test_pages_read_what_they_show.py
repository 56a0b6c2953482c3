"""The dashboard shows each agent's newest version and an agent's page each version's latest
run: they read those, not every version and every run (before: all 200 versions of an agent
with their manifests, to show one; all 100 runs of a version, to show the first)."""

import pytest
from django.db import connection

from tests.factories import AgentFactory, AgentVersionFactory, CertificationRunFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="reads the row counts PostgreSQL reports"
    ),
]


def _most_rows_one_query_read(client, url: str) -> int:
    counts = []

    def counted(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if sql.lstrip().upper().startswith("SELECT"):
            counts.append(context["cursor"].rowcount)
        return result

    with connection.execute_wrapper(counted):
        assert client.get(url).status_code == 200
    return max(counts)


def test_the_dashboard_reads_each_agent_s_newest_version_only(portal_vendor):
    vendor = portal_vendor("admin")
    agent = AgentFactory(tenant=vendor.tenant)
    for minor in range(60):
        AgentVersionFactory(agent=agent, signing_key=vendor.key, version=f"1.{minor}.0")

    page = vendor.client.get("/portal/").content.decode()

    assert ">1.59.0</a>" in page  # the newest, by precedence
    assert _most_rows_one_query_read(vendor.client, "/portal/") < 20  # the 8 latest uploads


def test_an_agent_s_page_reads_each_version_s_latest_run_only(portal_vendor):
    vendor = portal_vendor("admin")
    version = AgentVersionFactory(agent=AgentFactory(tenant=vendor.tenant), signing_key=vendor.key)
    CertificationRunFactory.create_batch(40, version=version, level="basic")
    latest = CertificationRunFactory(version=version, level="hardware")
    url = f"/portal/agents/{version.agent_id}/"

    page = vendor.client.get(url).content.decode()

    assert f"{latest.level}, {latest.status}" in page
    assert _most_rows_one_query_read(vendor.client, url) < 10
