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

from django.db import migrations

TABLE = "billing_usageevent"
_COMPOSITE = (
    ("device_tenant", "device_id, tenant_id", "marketplace_device", "id, tenant_id"),
    ("version_agent", "version_id, agent_id", "marketplace_agentversion", "id, agent_id"),
)

CREATE = f"""
CREATE FUNCTION {TABLE}_check_keys() RETURNS trigger AS $$
DECLARE
    key record;
BEGIN
    FOR key IN SELECT DISTINCT device_id, tenant_id FROM new_rows LOOP
        PERFORM FROM marketplace_device
            WHERE id = key.device_id AND tenant_id = key.tenant_id FOR KEY SHARE;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'insert or update on table "{TABLE}" violates its reference to "marketplace_device"'
                USING ERRCODE = 'foreign_key_violation',
                DETAIL = format('Key (device_id, tenant_id)=(%s, %s) is not present in table "marketplace_device".',
                                key.device_id, key.tenant_id);
        END IF;
    END LOOP;
    FOR key IN SELECT DISTINCT version_id, agent_id FROM new_rows LOOP
        PERFORM FROM marketplace_agentversion
            WHERE id = key.version_id AND agent_id = key.agent_id FOR KEY SHARE;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'insert or update on table "{TABLE}" violates its reference to "marketplace_agentversion"'
                USING ERRCODE = 'foreign_key_violation',
                DETAIL = format('Key (version_id, agent_id)=(%s, %s) is not present in table "marketplace_agentversion".',
                                key.version_id, key.agent_id);
        END IF;
    END LOOP;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER {TABLE}_inserted_keys AFTER INSERT ON {TABLE}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_check_keys();
CREATE TRIGGER {TABLE}_updated_keys AFTER UPDATE ON {TABLE}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_check_keys();

CREATE FUNCTION {TABLE}_device_still_named() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (NEW.id, NEW.tenant_id) = (OLD.id, OLD.tenant_id) THEN
        RETURN NULL;
    END IF;
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'deleting or re-keying a device is checked against raw usage rows under READ COMMITTED only'
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF EXISTS (SELECT FROM {TABLE} WHERE device_id = OLD.id AND tenant_id = OLD.tenant_id) THEN
        RAISE EXCEPTION 'update or delete on table "marketplace_device" violates a reference from table "{TABLE}"'
            USING ERRCODE = 'foreign_key_violation',
            DETAIL = format('Key (id, tenant_id)=(%s, %s) is still referenced from table "{TABLE}".',
                            OLD.id, OLD.tenant_id);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION {TABLE}_version_still_named() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (NEW.id, NEW.agent_id) = (OLD.id, OLD.agent_id) THEN
        RETURN NULL;
    END IF;
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'deleting or re-keying a version is checked against raw usage rows under READ COMMITTED only'
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF EXISTS (SELECT FROM {TABLE} WHERE version_id = OLD.id AND agent_id = OLD.agent_id) THEN
        RAISE EXCEPTION 'update or delete on table "marketplace_agentversion" violates a reference from table "{TABLE}"'
            USING ERRCODE = 'foreign_key_violation',
            DETAIL = format('Key (id, agent_id)=(%s, %s) is still referenced from table "{TABLE}".',
                            OLD.id, OLD.agent_id);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER {TABLE}_device_still_named
    AFTER UPDATE OF id, tenant_id OR DELETE ON marketplace_device
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {TABLE}_device_still_named();
CREATE CONSTRAINT TRIGGER {TABLE}_version_still_named
    AFTER UPDATE OF id, agent_id OR DELETE ON marketplace_agentversion
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {TABLE}_version_still_named();
"""

DROP = f"""
DROP TRIGGER {TABLE}_version_still_named ON marketplace_agentversion;
DROP TRIGGER {TABLE}_device_still_named ON marketplace_device;
DROP FUNCTION {TABLE}_version_still_named();
DROP FUNCTION {TABLE}_device_still_named();
DROP TRIGGER {TABLE}_updated_keys ON {TABLE};
DROP TRIGGER {TABLE}_inserted_keys ON {TABLE};
DROP FUNCTION {TABLE}_check_keys();
"""
_DROP_KEYS = "".join(f"ALTER TABLE {TABLE} DROP CONSTRAINT {TABLE}_{name}_fk;\n" for name, *_ in _COMPOSITE)
_ADD_KEYS = "".join(
    f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_{name}_fk FOREIGN KEY ({columns}) "
    f"REFERENCES {target} ({keys}) DEFERRABLE INITIALLY DEFERRED;\n"
    for name, columns, target, keys in _COMPOSITE
)


def _on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, None)  # elsewhere Django's own foreign keys stay

    return run


class Migration(migrations.Migration):
    dependencies = [("billing", "0010_usage_event_no_single_column_indexes")]

    operations = [
        migrations.RunPython(
            _on_postgresql(_DROP_KEYS + CREATE), _on_postgresql(DROP + _ADD_KEYS)
        )
    ]
