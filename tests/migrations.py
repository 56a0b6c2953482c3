"""Testing a data migration on the database the test runs on: migrate an app back, write rows
as the old schema held them, migrate forward, look; the app is always brought back to its
latest migration afterwards (and so is every app whose migrations depend on those undone), so
the next test finds the schema it expects, and its tables' id sequences no lower than they
were, so no later test reuses an id an earlier one had (a table migrating back drops is
created again with its sequence at 1, and Stripe keys such as ``edgeplug-invoice-1-attempt-1``
would then reach the session's localstripe a second time, with other parameters: an
``idempotency_error``)."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from django.db import connection
from django.db.migrations.exceptions import IrreversibleError
from django.db.migrations.executor import MigrationExecutor


class Migrator:
    def __init__(self, app: str, before: str):
        self.app = app
        self.before = [(app, before)]
        self.executor = MigrationExecutor(connection)

    def old_model(self, name: str, as_of: str | None = None):
        """The model ``name`` as the schema was at ``before``, or at the app's earlier migration
        ``as_of`` (to write rows the old code wrote: also code older than the schema, as the
        previous release's pods write during a rollout)."""
        state = self.executor.loader.project_state([(self.app, as_of)] if as_of else self.before)
        return state.apps.get_model(self.app, name)

    def forward(self, migration: str) -> None:
        self.executor.loader.build_graph()
        self.executor.migrate([(self.app, migration)])


def migrating_billing_back_to(before: str) -> list[pytest.MarkDecorator]:
    """The marks of a test module that migrates billing back to ``before``, past 0012: on
    PostgreSQL only, as 0012 does not go back on SQLite; migrating (SQLite's schema editor)
    needs no atomic block around the test."""
    return [
        pytest.mark.django_db(transaction=True),
        pytest.mark.skipif(
            connection.vendor != "postgresql",
            reason=f"billing 0012 does not go back on SQLite, so nothing migrates back to "
            f"{before} there",
        ),
    ]


def _sequences() -> dict[str, int]:
    """The last value each id sequence of the database gave (0: none yet). SQLite keeps
    AUTOINCREMENT's high-water marks as rows, of tables that had one, so its existing tables
    are named too."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename),"
                " coalesce(last_value, 0) FROM pg_sequences"
            )
            return dict(cursor.fetchall())
        cursor.execute("SELECT name, seq FROM sqlite_sequence")
        marks = dict(cursor.fetchall())
        return {table: marks.get(table, 0) for table in connection.introspection.table_names()}


def _raise_sequences_to(before: dict[str, int]) -> None:
    """Each sequence that exists again back to at least the value it had before migrating."""
    now = _sequences()
    behind = {name: last for name, last in before.items() if 0 <= now.get(name, -1) < last}
    with connection.cursor() as cursor:
        for name, last in behind.items():
            if connection.vendor == "postgresql":
                cursor.execute("SELECT setval(%s::regclass, %s)", [name, last])
            else:
                cursor.execute("DELETE FROM sqlite_sequence WHERE name = %s", [name])
                cursor.execute(
                    "INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)", [name, last]
                )


@contextmanager
def migrated_back(
    app: str, before: str, *, cleanup: Callable[[], object] = lambda: None
) -> Iterator[Migrator]:
    """``app`` migrated back to ``before`` for the block; then ``cleanup()`` (rows the latest
    schema would refuse) and every app forward to its latest migration, whatever happened (also
    when migrating back failed part of the way), its sequences raised to where they were."""
    migrator = Migrator(app, before)
    sequences = _sequences()
    try:
        migrator.executor.migrate(migrator.before)
        yield migrator
    finally:
        migrator.executor.loader.build_graph()
        cleanup()
        # Every app's latest, not only ``app``'s: going back also took back the migrations of
        # other apps that depend on the ones undone (tenancy 0004 takes marketplace 0018 on),
        # and a later test would miss their tables.
        migrator.executor.migrate(migrator.executor.loader.graph.leaf_nodes())
        _raise_sequences_to(sequences)


def refusal_going_back(app: str, before: str) -> str | None:
    """The ``IrreversibleError`` message with which migrating ``app`` back to ``before``
    refuses, or None when it went back (and, as ``migrated_back`` does, forward again)."""
    try:
        with migrated_back(app, before):
            return None
    except IrreversibleError as error:
        return str(error)


def column_names(table: str) -> set[str]:
    """The names of ``table``'s columns as the database has them now."""
    with connection.cursor() as cursor:
        description = connection.introspection.get_table_description(cursor, table)
    return {column.name for column in description}
