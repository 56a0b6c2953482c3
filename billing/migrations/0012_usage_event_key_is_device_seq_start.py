"""A raw usage row's primary key becomes what makes it once: (device, seq, started_at).

Before, the table had an ``id`` from a sequence with the primary key (id, started_at), and the
unique key (device_id, seq, started_at) beside it: two unique indexes and a sequence to write
per ingested row, for a key no query reads (nothing refers to a raw row by id). Measured on a
bench database (1,000-row ingest INSERT, 25 interleaved rounds, median): 15.1 ms before,
13.0 ms after (docs/benchmarks.md). ``ON CONFLICT (device_id, seq, started_at)`` now meets the
primary key.

Django does not alter a table's primary key into a composite one itself: the model state
changes here, and the table is rebuilt by hand on PostgreSQL (the partitioned parent's
constraints, which its partitions share) and by Django's own table remake on SQLite (there it
does not go back). On PostgreSQL the new key is built on every partition under an exclusive
lock: ingest waits for it, which on a large raw table wants a maintenance window."""

from django.db import migrations, models
from django.db.migrations.exceptions import IrreversibleError

TABLE = "billing_usageevent"
UNIQUE = "usage_event_once_per_seq_and_start"


def _postgresql(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement, None)

    return run


def _sqlite_remake(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor._remake_table(apps.get_model("billing", "UsageEvent"))


def _not_on_sqlite(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        raise IrreversibleError(
            "billing 0012 does not go back on SQLite (the embedded database): recreate it"
        )


FORWARD = [
    f"ALTER TABLE {TABLE} DROP CONSTRAINT {TABLE}_pkey",
    f"ALTER TABLE {TABLE} DROP CONSTRAINT {UNIQUE}",
    f"ALTER TABLE {TABLE} DROP COLUMN id",
    f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_pkey PRIMARY KEY (device_id, seq, started_at)",
]
BACKWARD = [
    f"ALTER TABLE {TABLE} DROP CONSTRAINT {TABLE}_pkey",
    f"CREATE SEQUENCE {TABLE}_id_seq",
    f"ALTER TABLE {TABLE} ADD COLUMN id bigint NOT NULL DEFAULT nextval('{TABLE}_id_seq')",
    f"ALTER SEQUENCE {TABLE}_id_seq OWNED BY {TABLE}.id",
    f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_pkey PRIMARY KEY (id, started_at)",
    f"ALTER TABLE {TABLE} ADD CONSTRAINT {UNIQUE} UNIQUE (device_id, seq, started_at)",
]


class Migration(migrations.Migration):
    dependencies = [("billing", "0011_usage_event_statement_key_checks")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveConstraint(model_name="usageevent", name=UNIQUE),
                migrations.RemoveField(model_name="usageevent", name="id"),
                migrations.AddField(
                    model_name="usageevent",
                    name="pk",
                    field=models.CompositePrimaryKey(
                        "device",
                        "seq",
                        "started_at",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
            ],
            database_operations=[
                migrations.RunPython(_postgresql(FORWARD), _postgresql(BACKWARD)),
            ],
        ),
        # With the new state: SQLite's table rebuilt with the composite key.
        migrations.RunPython(_sqlite_remake, _not_on_sqlite),
    ]
