"""Every device's hardware id stored composed (Unicode NFC), as ``register_device`` stores one
since 2026-12-04 (b8f21e94): before, it stored the id as sent, so a device registered with
"e" and its accent stayed active beside the same hardware registered again composed, which the
unique index on the active devices took for another id.

Revoked devices are composed too (no constraint holds them). An id that would not fit its
column composed (U+0958 composes into two characters) is left as stored: registering refuses
such an id as too long, so no new device can meet it. Active devices of one tenant whose ids
become one (a second device of one piece of hardware, each able to take a seat) stop the
migration, named, nothing changed: which one stays is a person's decision. Going back changes
nothing (the composed ids are the ones registering looks up).

Not repeated in the next release (docs/operations.md, "Upgrades"): the fill needs nothing the
previous release lacks, as its ``register_device`` composes already, so the rows its pods
write during the rollout are composed."""

import unicodedata

from django.db import migrations

from edgeplug.migration_refusals import named_rows


class TwinHardwareIds(RuntimeError):
    """Active devices of one tenant have one hardware id once composed."""


def _composed(hardware_id: str) -> str:
    """``register_device``'s rule as of this migration (frozen here: a migration keeps its
    meaning whatever that function later becomes)."""
    return unicodedata.normalize("NFC", hardware_id)


def _to_compose(devices, max_length: int) -> dict[int, tuple[int, str, bool]]:
    """{pk: (tenant id, composed id, active)} of the devices whose id composes otherwise and
    still fits. An ASCII id is composed already, so only the others are read."""
    stored = devices.filter(hardware_id__regex=r"[^\x01-\x7f]").values_list(
        "pk", "tenant_id", "hardware_id", "revoked_at"
    )
    return {
        pk: (tenant_id, new, revoked_at is None)
        for pk, tenant_id, old, revoked_at in stored.iterator()
        if (new := _composed(old)) != old and len(new) <= max_length
    }


def _active_twins(devices, changes: dict[int, tuple[int, str, bool]]) -> set[int]:
    """The active devices that would share an id with another active device of the tenant:
    two composed alike, or one composed into an id an active device holds already."""
    becoming: dict[tuple[int, str], list[int]] = {}
    for pk, (tenant_id, new, active) in changes.items():
        if active:
            becoming.setdefault((tenant_id, new), []).append(pk)
    twins = set()
    for (tenant_id, new), pks in becoming.items():
        holders = devices.filter(tenant_id=tenant_id, hardware_id=new, revoked_at__isnull=True)
        group = {*pks, *holders.values_list("pk", flat=True)}
        if len(group) > 1:
            twins |= group
    return twins


def _refuse_active_twins(devices, twins: set[int]) -> None:
    if not twins:
        return
    rows = devices.filter(pk__in=twins).select_related("tenant").order_by("tenant_id", "pk")
    total, listed = named_rows(
        rows,
        lambda d: f"{d.tenant.slug} device {d.name!r} (id {d.pk}, hardware id "
        f"{ascii(d.hardware_id)}, composed {ascii(_composed(d.hardware_id))})",
    )
    raise TwinHardwareIds(
        "marketplace 0021_hardware_ids_composed cannot be applied: a hardware id names one "
        "active device of its tenant, and once composed (Unicode NFC, as registering stores "
        f"it) {total} active devices share theirs with another of the tenant: {listed}. For "
        "each hardware id, decide which device is the hardware's and revoke the others "
        "(POST /api/v1/devices/{id}/revoke as the tenant), then migrate again. Nothing was "
        "changed."
    )


def compose_hardware_ids(apps, schema_editor):
    Device = apps.get_model("marketplace", "Device")
    devices = Device.objects.using(schema_editor.connection.alias)
    changes = _to_compose(devices, Device._meta.get_field("hardware_id").max_length)
    _refuse_active_twins(devices, _active_twins(devices, changes))
    for pk, (_, new, _) in changes.items():
        devices.filter(pk=pk).update(hardware_id=new)


class Migration(migrations.Migration):
    dependencies = [
        ("marketplace", "0020_order_given_back_in_stripe"),
    ]

    operations = [
        migrations.RunPython(compose_hardware_ids, migrations.RunPython.noop),
    ]
