"""A raw usage row's two references are checked once per statement and distinct key, not once
per row, on PostgreSQL.

A foreign key fires one check per inserted row: for a batch of 1,000 events, which names one
device and usually one version, 2,000 index lookups and row locks, about half of the
PostgreSQL CPU of the ingest's INSERT (docs/benchmarks.md). This migration replaces the two
composite foreign keys of 0009 with triggers that keep their meaning:

- an INSERT or UPDATE of raw rows (a statement-level trigger over its transition table)
  looks up each distinct ``(device_id, tenant_id)`` and ``(version_id, agent_id)`` pair the
  statement wrote, through the unique keys of marketplace/0008, and locks the row it finds
  ``FOR KEY SHARE`` as a foreign key check does: a concurrent delete of that device or version
  waits for this transaction, and one that committed first leaves nothing to find, so the
  statement fails with ``foreign_key_violation`` (Django's ``IntegrityError``);
- deleting a device or version, or changing its key, that raw rows still name fails at commit
  (deferred, as Django's foreign keys are), with the same error.

Where they differ from the foreign keys, each a case the application does not meet:
- The INSERT and UPDATE checks run at the end of the statement, not at commit: a raw row cannot
  name a device or version created later in the same transaction (the ingest reads both first).
- Rows written to a monthly partition directly, not through ``billing_usageevent``, are not
  checked (statement-level triggers are not cloned to partitions), nor are the rows of a table
  attached as a partition. The ingest writes through the parent; ``billing.partitions`` moves
  rows already checked into a new partition.
- Deleting or re-keying a device or version is refused outside READ COMMITTED (Django's
  isolation level): under REPEATABLE READ or SERIALIZABLE the check's snapshot could miss raw
  rows committed after it began, which a foreign key's check does not.
- TRUNCATE of the device or version table is not checked (no row triggers fire; Django's
  flush truncates every table at once).
- The functions run with the caller's rights and search path: the role that deletes devices
  needs SELECT on the raw table, and the one that ingests UPDATE on the device and version
  tables (FOR KEY SHARE), which the application's single role has."""

from typing import NamedTuple

from django.db import migrations

TABLE = "billing_usageevent"


class _Reference(NamedTuple):
    """One of the raw table's two references, as 0009's composite foreign key named it."""

    key_name: str  # 0009's constraint: f"{TABLE}_{key_name}_fk"
    noun: str  # what is referred to, in names and messages
    columns: tuple[str, str]  # in the raw table
    target: str
    target_columns: tuple[str, str]  # a unique key of the target (marketplace/0008)


_REFERENCES = (
    _Reference(
        "device_tenant",
        "device",
        ("device_id", "tenant_id"),
        "marketplace_device",
        ("id", "tenant_id"),
    ),
    _Reference(
        "version_agent",
        "version",
        ("version_id", "agent_id"),
        "marketplace_agentversion",
        ("id", "agent_id"),
    ),
)


def _lookup(ref: _Reference) -> str:
    """The check_keys loop over the distinct pairs of ``ref`` the statement wrote."""
    (a, b), (ta, tb) = ref.columns, ref.target_columns
    return f"""
    FOR key IN SELECT DISTINCT {a}, {b} FROM new_rows LOOP
        PERFORM FROM {ref.target}
            WHERE {ta} = key.{a} AND {tb} = key.{b} FOR KEY SHARE;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'insert or update on table "{TABLE}" violates its reference to "{ref.target}"'
                USING ERRCODE = 'foreign_key_violation',
                DETAIL = format('Key ({a}, {b})=(%s, %s) is not present in table "{ref.target}".',
                                key.{a}, key.{b});
        END IF;
    END LOOP;"""


def _still_named(ref: _Reference) -> str:
    """The deferred check that a deleted or re-keyed target row is named by no raw row."""
    (a, b), (ta, tb) = ref.columns, ref.target_columns
    name = f"{TABLE}_{ref.noun}_still_named"
    return f"""
CREATE FUNCTION {name}() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (NEW.{ta}, NEW.{tb}) = (OLD.{ta}, OLD.{tb}) THEN
        RETURN NULL;
    END IF;
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'deleting or re-keying a {ref.noun} is checked against raw usage rows under READ COMMITTED only'
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF EXISTS (SELECT FROM {TABLE} WHERE {a} = OLD.{ta} AND {b} = OLD.{tb}) THEN
        RAISE EXCEPTION 'update or delete on table "{ref.target}" violates a reference from table "{TABLE}"'
            USING ERRCODE = 'foreign_key_violation',
            DETAIL = format('Key ({ta}, {tb})=(%s, %s) is still referenced from table "{TABLE}".',
                            OLD.{ta}, OLD.{tb});
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER {name}
    AFTER UPDATE OF {ta}, {tb} OR DELETE ON {ref.target}
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {name}();
"""


CREATE = f"""
CREATE FUNCTION {TABLE}_check_keys() RETURNS trigger AS $$
DECLARE
    key record;
BEGIN{"".join(map(_lookup, _REFERENCES))}
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER {TABLE}_inserted_keys AFTER INSERT ON {TABLE}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_check_keys();
CREATE TRIGGER {TABLE}_updated_keys AFTER UPDATE ON {TABLE}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_check_keys();
""" + "".join(map(_still_named, _REFERENCES))

DROP = "".join(
    f"DROP TRIGGER {TABLE}_{ref.noun}_still_named ON {ref.target};\n"
    f"DROP FUNCTION {TABLE}_{ref.noun}_still_named();\n"
    for ref in _REFERENCES
) + (
    f"DROP TRIGGER {TABLE}_updated_keys ON {TABLE};\n"
    f"DROP TRIGGER {TABLE}_inserted_keys ON {TABLE};\n"
    f"DROP FUNCTION {TABLE}_check_keys();\n"
)
_DROP_KEYS = "".join(
    f"ALTER TABLE {TABLE} DROP CONSTRAINT {TABLE}_{ref.key_name}_fk;\n" for ref in _REFERENCES
)
_ADD_KEYS = "".join(
    f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_{ref.key_name}_fk "
    f"FOREIGN KEY ({', '.join(ref.columns)}) "
    f"REFERENCES {ref.target} ({', '.join(ref.target_columns)}) DEFERRABLE INITIALLY DEFERRED;\n"
    for ref in _REFERENCES
)


def _on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, None)  # elsewhere Django's own foreign keys stay

    return run


class Migration(migrations.Migration):
    dependencies = [("billing", "0010_usage_event_no_single_column_indexes")]

    operations = [
        migrations.RunPython(_on_postgresql(_DROP_KEYS + CREATE), _on_postgresql(DROP + _ADD_KEYS))
    ]
