"""The raw usage table's references on PostgreSQL (migration billing/0011): checked once per
statement and distinct key by triggers, with a foreign key's meaning. A raw row names its
device with that device's tenant and a version of its agent, or the write fails; a device or
version that raw rows name cannot be deleted underneath them; a concurrent delete waits."""

import psycopg
import pytest
from django.db import IntegrityError, connection, transaction

from billing.models import UsageEvent
from marketplace.models import AgentVersion, Device
from tests.factories import AgentFactory, AgentVersionFactory, DeviceFactory, TenantFactory
from tests.gunicorn_server import connect_to_test_db

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="elsewhere the raw table keeps Django's single-column foreign keys",
    ),
]


def _stored(metered) -> UsageEvent:
    sent = metered.send([metered.session(1, metered.base, 30)])
    assert sent.json()["totals"]["accepted"] == 1, sent.json()
    return UsageEvent.objects.get()


def _copy(row: UsageEvent, **changes) -> None:
    """Insert a copy of ``row`` under another seq, with ``changes``, as the ingest writes: one
    INSERT … SELECT through the parent table."""
    values = {
        "tenant_id": row.tenant_id,
        "device_id": row.device_id,
        "agent_id": row.agent_id,
        "version_id": row.version_id,
        **changes,
    }
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO billing_usageevent (tenant_id, device_id, agent_id, version_id, seq, "
            "kind, started_at, ended_at, fingerprint, received_at) "
            "SELECT %s, %s, %s, %s, s, 'session', %s, %s, 'f', now() "
            "FROM generate_series(100, 102) s",
            [
                values["tenant_id"],
                values["device_id"],
                values["agent_id"],
                values["version_id"],
                row.started_at,
                row.ended_at,
            ],
        )


def _check_deferred() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_the_ingest_writes_rows_that_pass_the_checks(metered):
    row = _stored(metered)
    _copy(row)
    assert UsageEvent.objects.count() == 4


@pytest.mark.parametrize(
    "change",
    ["another_tenant", "missing_device", "another_agents_version", "missing_version"],
)
def test_a_row_naming_what_does_not_exist_is_refused_whole(metered, change):
    row = _stored(metered)
    changes = {
        "another_tenant": lambda: {"tenant_id": TenantFactory().pk},
        "missing_device": lambda: {"device_id": row.device_id + 1000},
        "another_agents_version": lambda: {"version_id": AgentVersionFactory().pk},
        "missing_version": lambda: {"version_id": row.version_id + 1000},
    }[change]()
    target = "marketplace_device" if change.endswith(("tenant", "device")) else "agentversion"
    with pytest.raises(IntegrityError, match=target), transaction.atomic():
        _copy(row, **changes)
    assert UsageEvent.objects.count() == 1  # none of the statement's three rows stayed


def test_an_update_is_checked_as_an_insert_is(metered):
    row = _stored(metered)
    with pytest.raises(IntegrityError, match="marketplace_device"), transaction.atomic():
        UsageEvent.objects.filter(pk=row.pk).update(tenant_id=TenantFactory().pk)
    other_agent = AgentFactory(tenant=row.device.tenant)
    with pytest.raises(IntegrityError, match="agentversion"), transaction.atomic():
        UsageEvent.objects.filter(pk=row.pk).update(agent_id=other_agent.pk)


def _named_only_by_raw_rows(row: UsageEvent) -> tuple[Device, AgentVersion]:
    """A new device of ``row``'s tenant and a new version of its agent, which only raw rows
    (copies of ``row``) name: no deployment, rollup or order refers to them."""
    device = DeviceFactory(tenant=row.tenant, hardware_id="hw-only-raw-rows")
    version = AgentVersionFactory(agent=row.agent, version="2.0.0")  # not the published 1.0.0
    _copy(row, device_id=device.pk, version_id=version.pk)
    return device, version


def test_a_device_or_version_raw_rows_name_cannot_be_deleted_underneath_them(metered):
    device, version = _named_only_by_raw_rows(_stored(metered))
    for table, key in (("marketplace_device", device.pk), ("marketplace_agentversion", version.pk)):
        refused = pytest.raises(IntegrityError, match=f'{table}.*"billing_usageevent"')
        with refused, transaction.atomic(), connection.cursor() as cursor:
            # Raw SQL: Django's collector would delete a device's rows first, and PROTECT
            # refuses a version's deletion before any SQL runs.
            cursor.execute(f"DELETE FROM {table} WHERE id = %s", [key])
            _check_deferred()
    assert Device.objects.filter(pk=device.pk).exists()
    assert AgentVersion.objects.filter(pk=version.pk).exists()


def test_changing_a_named_devices_tenant_is_refused_and_other_edits_pass(metered):
    device, _ = _named_only_by_raw_rows(_stored(metered))
    Device.objects.filter(pk=device.pk).update(name="renamed")
    _check_deferred()
    with pytest.raises(IntegrityError, match='"billing_usageevent"'), transaction.atomic():
        Device.objects.filter(pk=device.pk).update(tenant_id=TenantFactory().pk)
        _check_deferred()


def test_deleting_a_device_through_django_takes_its_rows_along(metered):
    device, _ = _named_only_by_raw_rows(_stored(metered))
    device.delete()
    _check_deferred()
    assert UsageEvent.objects.count() == 1  # the metered device's own row


@pytest.mark.django_db(transaction=True)
def test_a_concurrent_delete_of_the_device_waits_for_the_writing_transaction(metered):
    row = _stored(metered)
    device = DeviceFactory(tenant=row.tenant, hardware_id="hw-only-raw-rows")
    with transaction.atomic():
        _copy(row, device_id=device.pk)  # the check locks the device FOR KEY SHARE
        with connect_to_test_db(autocommit=True) as other:
            other.execute("SET lock_timeout = '300ms'")
            with pytest.raises(psycopg.errors.LockNotAvailable):
                other.execute("DELETE FROM marketplace_device WHERE id = %s", [device.pk])


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("level", ["REPEATABLE READ", "SERIALIZABLE"])
def test_deleting_a_device_is_checked_under_read_committed_only(level):
    """Under a snapshot older than the transaction's statements, the check could miss raw rows
    committed since: such a delete is refused whole, named."""
    device = DeviceFactory()
    with connect_to_test_db() as other:
        other.execute(f"SET TRANSACTION ISOLATION LEVEL {level}")
        other.execute("DELETE FROM marketplace_device WHERE id = %s", [device.pk])
        with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState, match="READ COMMITTED"):
            other.commit()
    assert Device.objects.filter(pk=device.pk).exists()
