"""Usage ingestion: record a device's batch of events exactly once, answer each event, keep
the device's seen sequence ranges, and add session time to the hourly rollup, all in one
transaction. Also the read of a device's gaps."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from billing import meter
from billing.models import (
    UsageEvent,
    UsageHour,
    UsageKind,
    UsageRetiredSeqRange,
    UsageSeqRange,
)
from billing.usage_format import EventIn
from edgeplug.core.locking import locked
from marketplace.models import Deployment, Device
from marketplace.orders import active_entitlements

ACCEPTED, DUPLICATE, REJECTED = "accepted", "duplicate", "rejected"
TOO_LATE, IN_FUTURE, NOT_ENTITLED, SEQ_CONFLICT = (
    "too_late",
    "in_future",
    "not_entitled",
    "seq_conflict",
)


@dataclass(frozen=True)
class Outcome:
    seq: int
    outcome: str
    code: str = ""


@dataclass
class BatchResult:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def totals(self) -> dict[str, int]:
        counts = {ACCEPTED: 0, DUPLICATE: 0, REJECTED: 0}
        for outcome in self.outcomes:
            counts[outcome.outcome] += 1
        return counts


@transaction.atomic
def record_usage_batch(device: Device, events: list[EventIn]) -> BatchResult:
    """Answer every event of a parsed batch (accepted, duplicate, or rejected with a code) and
    store the accepted ones. Batches of one device are serialised by a lock on its row."""
    device = locked(device)
    now = timezone.now()
    stored = dict(
        UsageEvent.objects.filter(device=device, seq__in={e.seq for e in events}).values_list(
            "seq", "fingerprint"
        )
    )
    retired = _retired_ranges(device, events)
    deployed = _deployed_versions(device)
    entitled = _entitled_agents(device, {e.agent for e in events})
    result, accepted = BatchResult(), []
    for event in events:
        if any(first <= event.seq <= last for first, last in retired):
            code = TOO_LATE
        else:
            code = _refusal(event, stored, deployed, entitled, now)
        if code is None and event.seq in stored:
            result.outcomes.append(Outcome(event.seq, DUPLICATE))
            continue
        if code:
            result.outcomes.append(Outcome(event.seq, REJECTED, code))
            continue
        stored[event.seq] = event.fingerprint
        accepted.append(event)
        result.outcomes.append(Outcome(event.seq, ACCEPTED))
    _store(device, accepted, deployed, now)
    _add_session_seconds(device, [e for e in accepted if e.kind == UsageKind.SESSION])
    _mark_seen(device, {e.seq for e in events})
    return result


def _refusal(event: EventIn, stored, deployed, entitled, now: datetime) -> str | None:
    """The code refusing ``event``, or None. A stored seq is a duplicate whatever the clock
    says now, unless its content differs."""
    if event.seq in stored:
        return SEQ_CONFLICT if stored[event.seq] != event.fingerprint else None
    if event.started_at < now - timedelta(days=settings.USAGE_LATE_DAYS):
        return TOO_LATE
    if event.ended_at > now + timedelta(seconds=settings.USAGE_FUTURE_SKEW_S):
        return IN_FUTURE
    if deployed.get(event.agent, (None, None))[0] != event.version or event.agent not in entitled:
        return NOT_ENTITLED
    return None


def _retired_ranges(device: Device, events: list[EventIn]) -> list[meter.SeqRange]:
    """The device's retired ranges (raw rows dropped by retention) that meet the batch's seqs:
    such a seq was stored once and can no longer be compared, so it is refused."""
    if not events:
        return []
    seqs = [e.seq for e in events]
    return list(
        UsageRetiredSeqRange.objects.filter(
            device=device, first__lte=max(seqs), last__gte=min(seqs)
        ).values_list("first", "last")
    )


def _deployed_versions(device: Device) -> dict[int, tuple[str, int]]:
    """agent id → (version string, version id) deployed on the device."""
    return {
        agent: (version, version_id)
        for agent, version, version_id in Deployment.objects.filter(device=device).values_list(
            "agent_id", "version__version", "version_id"
        )
    }


def _entitled_agents(device: Device, agents: set[int]) -> set[int]:
    """The batch's agents the tenant holds an active entitlement to (a query per agent: a
    device runs a handful)."""
    return {agent for agent in agents if active_entitlements(device.tenant, agent).exists()}


_RAW_COLUMNS = (
    ("tenant_id", "bigint"),
    ("device_id", "bigint"),
    ("seq", "bigint"),
    ("kind", "text"),
    ("agent_id", "bigint"),
    ("version_id", "bigint"),
    ("started_at", "timestamptz"),
    ("ended_at", "timestamptz"),
    ("inferences", "bigint"),
    ("peak_arena_bytes", "bigint"),
    ("fingerprint", "text"),
    ("received_at", "timestamptz"),
)


def _store(device: Device, events: list[EventIn], deployed, now: datetime) -> None:
    """One INSERT for the batch, ``ON CONFLICT DO NOTHING`` so a concurrent resend cannot fail
    the transaction (the key includes ``started_at``, the partition key on PostgreSQL; the
    lookup under the device lock already turned away every stored seq). On PostgreSQL the rows
    travel as one array per column (``unnest``), which skips the ORM's per-value work;
    elsewhere ``bulk_create`` (INSERT OR IGNORE on SQLite)."""
    if not events:
        return
    rows = [
        (
            device.tenant_id,
            device.pk,
            e.seq,
            e.kind,
            e.agent,
            deployed[e.agent][1],
            e.started_at,
            e.ended_at,
            e.inferences,
            e.peak_arena_bytes,
            e.fingerprint,
            now,
        )
        for e in events
    ]
    if connection.vendor != "postgresql":
        names = [name for name, _ in _RAW_COLUMNS]
        UsageEvent.objects.bulk_create(
            [UsageEvent(**dict(zip(names, row, strict=True))) for row in rows],
            ignore_conflicts=True,
        )
        return
    table = connection.ops.quote_name(UsageEvent._meta.db_table)
    columns = ", ".join(name for name, _ in _RAW_COLUMNS)
    arrays = ", ".join(f"%s::{kind}[]" for _, kind in _RAW_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT * FROM unnest({arrays}) "  # noqa: S608 - our names
            "ON CONFLICT (device_id, seq, started_at) DO NOTHING",
            [list(column) for column in zip(*rows, strict=True)],
        )


def _add_session_seconds(device: Device, sessions: list[EventIn]) -> None:
    """Upsert, adding seconds, the time the new sessions add to each (agent, hour) beyond the
    stored sessions that overlap them (overlaps count once)."""
    by_agent: dict[int, list[meter.Interval]] = defaultdict(list)
    for session in sessions:
        by_agent[session.agent].append((session.started_at, session.ended_at))
    rows = []
    for agent, new in by_agent.items():
        window_start = min(start for start, _ in new)
        window_end = max(end for _, end in new)
        old = (
            UsageEvent.objects.filter(
                device=device,
                agent_id=agent,
                kind=UsageKind.SESSION,
                started_at__lt=window_end,
                ended_at__gt=window_start,
            )
            .exclude(seq__in=[s.seq for s in sessions if s.agent == agent])
            .values_list("started_at", "ended_at")
        )
        for hour, seconds in sorted(meter.added_seconds(old, new).items()):
            rows.append((device.tenant_id, agent, device.pk, hour, seconds))
    if rows:
        _upsert_hours(rows)


def _upsert_hours(rows: list[tuple]) -> None:
    table = connection.ops.quote_name(UsageHour._meta.db_table)
    adapt = connection.ops.adapt_datetimefield_value
    values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(rows))
    params = [
        value
        for tenant, agent, device, hour, seconds in rows
        for value in (tenant, agent, device, adapt(hour), seconds)
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (tenant_id, agent_id, device_id, hour, seconds) "  # noqa: S608 - the table name is ours
            f"VALUES {values} ON CONFLICT (device_id, agent_id, hour) "
            f"DO UPDATE SET seconds = {table}.seconds + EXCLUDED.seconds",
            params,
        )


def _mark_seen(device: Device, seqs: set[int]) -> None:
    existing = list(
        UsageSeqRange.objects.filter(device=device).order_by("first").values_list("first", "last")
    )
    merged = meter.merge_seqs(existing, seqs)
    if merged == existing:
        return
    UsageSeqRange.objects.filter(device=device).delete()
    UsageSeqRange.objects.bulk_create(
        [UsageSeqRange(device=device, first=first, last=last) for first, last in merged]
    )


@dataclass(frozen=True)
class Gaps:
    highest_seq: int | None
    missing: list[meter.SeqRange]


def usage_gaps(device: Device) -> Gaps:
    """The sequence numbers below the highest one seen that the device never sent."""
    ranges = list(UsageSeqRange.objects.filter(device=device).values_list("first", "last"))
    return Gaps(max((last for _, last in ranges), default=None), meter.gaps(ranges))


def devices_with_gaps() -> int:
    """How many devices have a gap: ranges are merged, so a range not starting at 1 is one."""
    return UsageSeqRange.objects.filter(first__gt=1).values("device").distinct().count()
