"""The audit log's admin list reads a page of the log, never the whole (append-only, never
pruned) table: it ran COUNT(*) twice a page (the paginator's and the "full result count"),
SELECT DISTINCT month over every row for its date hierarchy and SELECT DISTINCT action over
every row for its action filter. The count of the unfiltered list is PostgreSQL's estimate
(``EstimatedCountPaginator``), the actions and tenants its filters list are read one index
entry each (``held_values``), and the dates are narrowed by Django's date filter, which reads
nothing. Rows read are counted from PostgreSQL's plans (``EXPLAIN ANALYZE``), not timed."""

from urllib.parse import parse_qsl

import pytest
from django.db import connection

from edgeplug.audit.models import AuditEvent
from tests.factories import TenantFactory
from tests.query_plans import counts_rows_read, queries_of, rows_read, touching

pytestmark = [pytest.mark.django_db, counts_rows_read]

EVENTS = 60_000
ACTIONS = ("login", "order_placed", "member_added", "device_registered")


def _events(n: int, tenants: list[int]) -> None:
    """``n`` audit events over the last ~200 days, as a grown deployment's log holds them."""
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO audit_auditevent
               (created_at, actor_email, tenant_id, by_platform_staff, action, target,
                request_id, details)
               SELECT now() - (g * interval '3 minutes'), 'a@x.example',
                      (%s::bigint[])[1 + g %% %s], false, (%s::text[])[1 + g %% %s],
                      'target ' || g, '', '{}'::jsonb
               FROM generate_series(1, %s) g""",
            [tenants, len(tenants), list(ACTIONS), len(ACTIONS), n],
        )
        cursor.execute("ANALYZE audit_auditevent")


def _whole_log_reads(client, url: str):
    """The page, and (rows read, SQL) of each query it ran that read half the log or more."""
    response, sqls = queries_of(lambda: client.get(url))
    assert response.status_code == 200
    whole = [
        (read, sql[:120])
        for sql in touching(sqls, AuditEvent)
        if (read := rows_read(sql, AuditEvent)) >= EVENTS // 2
    ]
    return whole, response


def test_a_page_of_the_audit_log_does_not_read_the_whole_log(admin_session):
    client, _ = admin_session("platform-admins", is_superuser=True)
    _events(EVENTS, [TenantFactory().pk for _ in range(20)])
    client.get("/admin/audit/auditevent/")  # the session's first request caches what it reads

    whole, page = _whole_log_reads(client, "/admin/audit/auditevent/")
    assert not whole, f"one page of 100 events read the {EVENTS:,}-row log: {whole}"
    assert len(page.context["cl"].result_list) == 100
    # The estimate stands for the unfiltered count; no "(N total)" count of the whole log.
    assert abs(page.context["cl"].result_count - EVENTS) < EVENTS // 10
    assert page.context["cl"].full_result_count is None
    html = page.content.decode()
    for action in ACTIONS:
        assert f"?action={action}" in html

    # Each filter followed as a click does, on the grown log: the rows it names, none other.
    narrowed, page = _whole_log_reads(client, "/admin/audit/auditevent/?action=login")
    assert not narrowed, narrowed
    logins = AuditEvent.objects.filter(action="login").count()  # the admin's own sign-in too
    assert page.context["cl"].result_count == logins  # filtered: counted exactly
    assert {row.action for row in page.context["cl"].result_list} == {"login"}


def _filter_links(html: str, parameter: str) -> list[str]:
    """The query strings of the page's filter links that set ``parameter``."""
    links = []
    for part in html.split('href="?')[1:]:
        query = part.split('"', 1)[0].replace("&amp;", "&")
        if parameter in dict(parse_qsl(query)):
            links.append(query)
    return links


def test_the_audit_log_filters_narrow_the_list_when_clicked(admin_session):
    client, _ = admin_session("platform-admins", is_superuser=True)
    acme, globex = TenantFactory(slug="acme"), TenantFactory(slug="globex")
    TenantFactory.create_batch(3)  # no event: not offered
    AuditEvent.objects.create(action="login", tenant=acme, target="a")
    AuditEvent.objects.create(action="order_placed", tenant=globex, target="b")
    AuditEvent.objects.create(action="order_placed", tenant=None, target="c")
    page = client.get("/admin/audit/auditevent/")
    assert page.status_code == 200
    everything = set(AuditEvent.objects.values_list("target", flat=True))  # the sign-in's too
    assert page.context["cl"].result_count == len(everything)  # a small log: counted exactly
    html = page.content.decode()

    tenants = _filter_links(html, "tenant__id__exact")
    assert sorted(dict(parse_qsl(q))["tenant__id__exact"] for q in tenants) == sorted(
        [str(acme.pk), str(globex.pk)]
    )
    actions = _filter_links(html, "action")
    assert sorted(dict(parse_qsl(q))["action"] for q in actions) == ["login", "order_placed"]
    dates = _filter_links(html, "created_at__gte")
    assert dates, "no date filter"

    for query, targets in (
        (next(q for q in tenants if f"={globex.pk}" in q), {"b"}),
        (next(q for q in actions if "order_placed" in q), {"b", "c"}),
        (dates[0], everything),  # "Today"
    ):
        followed = client.get(f"/admin/audit/auditevent/?{query}")
        assert followed.status_code == 200, query
        assert not list(followed.context["messages"]), query
        assert {row.target for row in followed.context["cl"].result_list} == targets, query
