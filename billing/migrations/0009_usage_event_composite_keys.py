"""A raw usage row's four foreign keys become two composite ones on PostgreSQL: (device,
tenant) references the device with that tenant, (version, agent) the version of that agent.
Every reference is still checked by the database (a device's tenant and a version's agent are
foreign keys of their own), and more strictly: a row can no longer name another tenant than
its device's, or another agent than its version's. PostgreSQL checks a foreign key once per
inserted row, and those checks were about half of its time on a batch of 1,000 events
(docs/benchmarks.md); two checks instead of four halve them."""

from django.db import migrations

TABLE = "billing_usageevent"
_SINGLE = (
    ("tenant_id", "tenancy_tenant"),
    ("device_id", "marketplace_device"),
    ("agent_id", "marketplace_agent"),
    ("version_id", "marketplace_agentversion"),
)
_COMPOSITE = (
    ("device_tenant", "device_id, tenant_id", "marketplace_device", "id, tenant_id"),
    ("version_agent", "version_id, agent_id", "marketplace_agentversion", "id, agent_id"),
)


def _execute(schema_editor, statements) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return  # elsewhere the table keeps the foreign keys Django made
    with schema_editor.connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def composite(apps, schema_editor):
    _execute(
        schema_editor,
        [
            *(f"ALTER TABLE {TABLE} DROP CONSTRAINT {TABLE}_{column}_fk" for column, _ in _SINGLE),
            *(
                f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_{name}_fk FOREIGN KEY ({columns}) "
                f"REFERENCES {target} ({keys}) DEFERRABLE INITIALLY DEFERRED"
                for name, columns, target, keys in _COMPOSITE
            ),
        ],
    )


def single(apps, schema_editor):
    _execute(
        schema_editor,
        [
            *(f"ALTER TABLE {TABLE} DROP CONSTRAINT {TABLE}_{name}_fk" for name, *_ in _COMPOSITE),
            *(
                f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_{column}_fk FOREIGN KEY ({column}) "
                f"REFERENCES {target} (id) DEFERRABLE INITIALLY DEFERRED"
                for column, target in _SINGLE
            ),
        ],
    )


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0008_usage_event_sessions_by_end"),
        ("marketplace", "0008_keys_for_usage_events"),
    ]

    operations = [migrations.RunPython(composite, single)]
