"""What PostgreSQL read for the SQL a call ran: the rows each table's scans read, from
EXPLAIN (ANALYZE) row counts (never timings), for tests that a request's cost follows what
it asks for rather than the size of a table. PostgreSQL only: SQLite's plans count no rows.
A table is named by its model or its name."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

# Mark a test that counts rows read (skipped before its fixtures run).
counts_rows_read = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="counts rows read from PostgreSQL's EXPLAIN (ANALYZE); SQLite's plans have none",
)


def _table(table) -> str:
    return table if isinstance(table, str) else table._meta.db_table


def analyze(*tables) -> None:
    """Fresh planner statistics, as autovacuum would have them after a bulk load."""
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f'ANALYZE "{_table(table)}"')


def queries_of(call) -> tuple:
    """(what ``call()`` returned, a streamed response read to its end; the SQL it ran)."""
    with CaptureQueriesContext(connection) as ctx:
        result = call()
        if hasattr(result, "streaming_content"):
            b"".join(result.streaming_content)
    return result, [query["sql"] for query in ctx.captured_queries]


def touching(sqls: list[str], table) -> list[str]:
    """The statements that name ``table``."""
    return [sql for sql in sqls if f'"{_table(table)}"' in sql]


def _plan(sql: str, *, seqscan: bool) -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SAVEPOINT query_plans")
        if not seqscan:
            cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
        (raw,) = cursor.fetchone()
        cursor.execute("ROLLBACK TO SAVEPOINT query_plans")
    return (raw if isinstance(raw, list) else json.loads(raw))[0]["Plan"]


def _nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def rows_read(sql: str, table, *, seqscan: bool = True) -> int:
    """Rows of ``table`` the statement's scans of it read, over all their loops: those kept
    and those a filter removed (PostgreSQL rounds a loop's rows to a whole number, so a scan
    looped over reads a little more or less than this). The statement runs and its writes
    are undone. ``seqscan=False`` prices sequential scans out: what is left is what no index
    could narrow."""
    name = _table(table)
    return sum(
        (node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0))
        * node.get("Actual Loops", 1)
        for node in _nodes(_plan(sql, seqscan=seqscan))
        if node.get("Relation Name") == name
    )


def rows_read_by(sqls: list[str], table) -> int:
    """Rows of ``table`` read by all of these statements."""
    return sum(rows_read(sql, table) for sql in touching(sqls, table))
