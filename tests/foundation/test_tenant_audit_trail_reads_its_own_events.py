"""GET /api/v1/tenant/audit-events reads the tenant's own events in its order (newest first,
an index on tenant and time): not the platform's log backwards past every other tenant's (for
a tenant with a small share of the log, as most are, a page read the log back to its 25th
event), nor the platform's whole log for a filter its events seldom match."""

import pytest
from django.db import connection

from edgeplug.audit.models import AuditEvent
from tests.factories import TenantFactory
from tests.query_plans import analyze, counts_rows_read, queries_of, rows_read

pytestmark = pytest.mark.django_db

EVENTS = 40_000
OTHERS = 19


def _log(tenants: list[int]) -> None:
    """EVENTS events, every few minutes back from now, spread over ``tenants`` in turn, and
    one ``member_removed`` of the last tenant a year ago."""
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO audit_auditevent
               (created_at, actor_email, tenant_id, by_platform_staff, action, target,
                request_id, details)
               SELECT now() - (g * interval '3 minutes'), 'a@x.example',
                      (%s::bigint[])[1 + g %% %s], false,
                      (ARRAY['login','order_placed','device_registered'])[1 + g %% 3],
                      'target ' || g, '', '{}'::jsonb
               FROM generate_series(1, %s) g""",
            [tenants, len(tenants), EVENTS],
        )
        cursor.execute(
            """INSERT INTO audit_auditevent
               (created_at, actor_email, tenant_id, by_platform_staff, action, target,
                request_id, details)
               VALUES (now() - interval '365 days', 'a@x.example', %s, false,
                       'member_removed', 'member 1', '', '{}'::jsonb)""",
            [tenants[-1]],
        )
    analyze("audit_auditevent")


# Page 1 of a tenant with one event in 191 of the log (19 other tenants, each ten times as
# busy); a filter of a tenant with one in 20, where the planner walked the log by time.
@counts_rows_read
@pytest.mark.parametrize(("params", "busier"), [({}, 10), ({"action": "member_removed"}, 1)])
def test_a_tenants_trail_reads_only_its_own_events(member_client, params, busier):
    client, membership = member_client("admin")
    _log([TenantFactory().pk for _ in range(OTHERS)] * busier + [membership.tenant_id])
    own = AuditEvent.objects.filter(tenant=membership.tenant).count()

    response, sqls = queries_of(lambda: client.get("/api/v1/tenant/audit-events", params))
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert len(results) == (1 if params else 25)
    # Page 1: its page (the count reads the tenant's events, as page numbers need); a filter
    # its events seldom match: at most the tenant's events, in every query.
    measured = [s for s in sqls if 'FROM "audit_auditevent"' in s and (params or "LIMIT" in s)]
    read = max(rows_read(sql, "audit_auditevent") for sql in measured)
    # before: the log back to the tenant's 25th event (4,775 rows) and the whole log (40,002)
    assert read <= (own if params else 2 * len(results)), (read, own)
