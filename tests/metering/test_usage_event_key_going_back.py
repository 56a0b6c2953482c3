"""Migrating billing back before its usage partitions (0003_usage_partitions), where a raw event
was unique per (device, seq): every stored event comes back under the old key and forward again;
two events of one device and seq with different starts, which the key since (device, seq,
started_at) lets the database hold, stop the way back, named, before any row changes."""

from datetime import timedelta

from django.db import connection

from billing.models import UsageEvent
from billing.periods import month_start
from tests.migrations import migrated_back, migrating_billing_back_to, refusal_going_back

pytestmark = migrating_billing_back_to("0002")

BEFORE_PARTITIONS = "0002_usage_metering"


def raw_events(model) -> set[tuple]:
    return set(
        model.objects.values_list("device_id", "seq", "started_at", "ended_at", "fingerprint")
    )


def usage_event_constraints() -> set[str]:
    with connection.cursor() as cursor:
        return set(connection.introspection.get_constraints(cursor, UsageEvent._meta.db_table))


def store(metered, *sessions) -> None:
    sent = metered.send([metered.session(seq, start, 30) for seq, start in sessions])
    assert sent.json()["totals"]["accepted"] == len(sessions), sent.json()


def twin_of(seq: int, *, hours_later: int) -> UsageEvent:
    """Another event of the device under ``seq``, starting later: the ingest answers such a
    resend ``seq_conflict``, but the database's key (device, seq, started_at) holds both."""
    row = UsageEvent.objects.filter(seq=seq).earliest("started_at")
    shift = timedelta(hours=hours_later)
    same = ("tenant_id", "device_id", "agent_id", "version_id", "seq", "kind", "received_at")
    return UsageEvent.objects.create(
        **{field: getattr(row, field) for field in same},
        started_at=row.started_at + shift,
        ended_at=row.ended_at + shift,
        fingerprint="f" * 64,
    )


def test_migrating_back_before_the_partitions_keeps_every_event_and_forward_again(metered):
    store(metered, (1, metered.base), (2, metered.base + timedelta(hours=1)))
    store(metered, (3, month_start(metered.now) - timedelta(hours=2)))  # last month's partition
    before = raw_events(UsageEvent)

    with migrated_back("billing", BEFORE_PARTITIONS) as migrator:
        at_0002 = raw_events(migrator.old_model("UsageEvent"))
        constraints_at_0002 = usage_event_constraints()
        migrator.forward("0003_usage_partitions")
        state = migrator.executor.loader.project_state(("billing", "0003_usage_partitions"))
        at_0003 = raw_events(state.apps.get_model("billing", "UsageEvent"))

    assert at_0002 == before
    assert "usage_event_once_per_seq" in constraints_at_0002
    assert at_0003 == before
    assert raw_events(UsageEvent) == before
    resent = metered.send([metered.session(1, metered.base, 30)])
    assert resent.json()["results"][0]["outcome"] == "duplicate", resent.json()


def test_migrating_back_refuses_two_events_of_one_device_and_seq_naming_them(metered):
    """The old key (device, seq) cannot hold both, and which one the device meant is not the
    migration's to decide: going back stops at 0003, nothing deleted or renumbered, and the
    message names each such device and seq with their starts."""
    store(metered, (1, metered.base), (2, metered.base), (3, metered.base))
    twin_of(1, hours_later=2)
    twin_of(1, hours_later=3)
    twin_of(3, hours_later=1)
    before = raw_events(UsageEvent)
    device = metered.device_id

    message = refusal_going_back("billing", BEFORE_PARTITIONS) or ""

    assert f"device {device} seq 1 (3 events, started " in message
    assert f"device {device} seq 3 (2 events, started " in message
    assert f"device {device} seq 2" not in message
    assert (metered.base + timedelta(hours=3)).isoformat() in message
    assert raw_events(UsageEvent) == before
    assert "billing_usageevent_pkey" in usage_event_constraints()
