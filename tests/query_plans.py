"""What PostgreSQL did for the SQL a request ran: the rows each query read of a table, from
EXPLAIN (ANALYZE) row counts (never timings), for tests that a request's cost does not grow
with data it does not answer about. PostgreSQL only: SQLite's EXPLAIN counts no rows."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

# Mark a test that counts rows read (before its fixtures run).
counts_rows_read = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="counts rows read from PostgreSQL's EXPLAIN (ANALYZE); SQLite's EXPLAIN has none",
)


def analyze(*tables: str) -> None:
    """Fresh planner statistics, as autovacuum would have them after a bulk load."""
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f'ANALYZE "{table}"')


def queries_of(call) -> tuple:
    """(what ``call()`` returned, the SQL of each query it ran)."""
    with CaptureQueriesContext(connection) as ctx:
        result = call()
    return result, [query["sql"] for query in ctx.captured_queries]


def _nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def rows_read(sql: str, table: str) -> int:
    """Rows of ``table`` the query's scans of it read, over all their loops: those returned
    and those a filter removed. The query runs (EXPLAIN ANALYZE) and its writes are undone."""
    with connection.cursor() as cursor:
        cursor.execute("SAVEPOINT rows_read")
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
        (raw,) = cursor.fetchone()
        cursor.execute("ROLLBACK TO SAVEPOINT rows_read")
    plan = (raw if isinstance(raw, list) else json.loads(raw))[0]["Plan"]
    return sum(
        (node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0))
        * node.get("Actual Loops", 1)
        for node in _nodes(plan)
        if node.get("Relation Name") == table
    )


def rows_read_by(sqls: list[str], table: str) -> int:
    """Rows of ``table`` read by all of these queries."""
    return sum(rows_read(sql, table) for sql in sqls if f'"{table}"' in sql)
