"""Usage ingestion: record a device's batch of events exactly once, answer each event, keep
the device's seen sequence ranges, and add session time to the hourly rollup, all in one
transaction. Also the read of a device's gaps."""

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.db.models import OuterRef, Subquery, Value
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
from edgeplug.core.compiled import CompiledQuery
from marketplace.models import Deployment, Device, Entitlement, EntitlementStatus

ACCEPTED, DUPLICATE, REJECTED = OUTCOMES = ("accepted", "duplicate", "rejected")
TOO_LATE, IN_FUTURE, NOT_ENTITLED, SEQ_CONFLICT = (
    "too_late",
    "in_future",
    "not_entitled",
    "seq_conflict",
)
_RAW = UsageEvent._meta.db_table
_SEEN = UsageSeqRange._meta.db_table
_RETIRED = UsageRetiredSeqRange._meta.db_table


class Outcome(NamedTuple):  # a tuple: a batch makes 1,000
    seq: int
    outcome: str
    code: str = ""


@dataclass
class BatchResult:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def totals(self) -> dict[str, int]:
        counts = dict.fromkeys(OUTCOMES, 0)
        for outcome in self.outcomes:
            counts[outcome.outcome] += 1
        return counts


@transaction.atomic
def record_usage_batch(device: Device, events: list[EventIn]) -> BatchResult:
    """Answer every event of a parsed batch (accepted, duplicate, or rejected with a code) and
    store the accepted ones. Batches of one device are serialised by a lock on its row."""
    now = timezone.now()
    locked = _LOCKED_DEVICE.first(device=device.pk)
    if locked is None:  # deleted since its token was read
        raise Device.DoesNotExist(f"device {device.pk} no longer exists")
    seen, retired = _seq_ranges(device, events)
    stored = _stored_fingerprints(device, seen, events)
    entitled = _Entitled(device, events)
    late = earliest_accepted(now)
    future = now + timedelta(seconds=settings.USAGE_FUTURE_SKEW_S)
    result, accepted = BatchResult(), []
    outcomes = result.outcomes
    for event in events:
        seq = event.seq
        if retired and any(first <= seq <= last for first, last in retired):
            code = TOO_LATE
        elif seq in stored:
            if stored[seq] == event.fingerprint:
                outcomes.append(Outcome(seq, DUPLICATE))
                continue
            code = SEQ_CONFLICT
        else:
            code = _refusal(event, late, future) or entitled.refusal(event)
        if code:
            outcomes.append(Outcome(seq, REJECTED, code))
            continue
        stored[seq] = event.fingerprint
        accepted.append(event)
        outcomes.append(Outcome(seq, ACCEPTED, ""))
    sessions = [e for e in accepted if e.kind == UsageKind.SESSION]
    # Read the stored sessions the new ones overlap before the new ones join them.
    hours = _added_session_seconds(device, sessions)
    _store(device, accepted, entitled.deployed, now)
    if hours:
        _upsert_hours(hours)
    _mark_seen(device, seen, {e.seq for e in events})
    return result


def earliest_accepted(now: datetime) -> datetime:
    """An event that started before this is refused ``too_late`` (``USAGE_LATE_DAYS``); the
    usage table's partitions reach back to its month."""
    return now - timedelta(days=settings.USAGE_LATE_DAYS)


def _refusal(event: EventIn, late: datetime, future: datetime) -> str | None:
    """The code refusing a new ``event`` (its seq not stored) for its time, or None."""
    if event.started_at < late:
        return TOO_LATE
    if event.ended_at > future:
        return IN_FUTURE
    return None


class _Entitled:
    """Whether an event's agent and version are deployed on the device (``deployed``: agent
    → (version, version id)) and that deployment held a seat when the event started: the
    seats of the tenant's entitlements to the agent valid then, from the hour one began (its
    invoice bills whole hours, ``meter.hours_valid``) to the instant it ended (a refund or a
    cancellation's end tells its devices to stop then), taken by the tenant's deployments of
    the agent oldest first (``Deployment.objects.within_seats``, the seat rule of what may
    run). A suspended entitlement gives none while it is suspended. What the tenant holds
    when the device reports changes nothing: hours run under an entitlement that has ended
    since are still its to bill (late usage), hours no entitlement covered are billed to
    none. A deployment removed (a revoked device's are) is not deployed.

    Queries for the batch: its deployments, the tenant's entitlements to their agents, and
    the deployments holding a seat for each number of seats its events started under (one,
    mostly), however many events."""

    def __init__(self, device: Device, events: list[EventIn]):
        self.device_id = device.pk
        self.deployed = {
            agent: (version, version_id)
            for agent, version, version_id in _DEPLOYED.fetch(device=device.pk)
        }
        agents = {event.agent for event in events if event.agent in self.deployed}
        self.valid: dict[int, list] = defaultdict(list)
        if agents:
            rows = Entitlement.objects.filter(
                tenant_id=device.tenant_id, agent_id__in=agents
            ).exclude(status=EntitlementStatus.SUSPENDED)
            for agent, valid_from, valid_until, seats in rows.values_list(
                "agent_id", "valid_from", "valid_until", "seats"
            ):
                self.valid[agent].append((meter.hour_of(valid_from), valid_until, seats))
        self._holding: dict[int, set[int]] = {}  # seats → agents whose deployment holds one

    def refusal(self, event: EventIn) -> str | None:
        if self.deployed.get(event.agent, (None, None))[0] != event.version:
            return NOT_ENTITLED
        at = event.started_at
        seats = sum(
            given
            for start, end, given in self.valid[event.agent]
            if start <= at and (end is None or at < end)
        )
        return None if seats and event.agent in self._holding_one_of(seats) else NOT_ENTITLED

    def _holding_one_of(self, seats: int) -> set[int]:
        """The agents whose deployment on the device holds one of ``seats`` seats."""
        holding = self._holding.get(seats)
        if holding is None:
            deployments = Deployment.objects.filter(
                device=self.device_id, agent_id__in=list(self.valid)
            ).within_seats(Value(seats))
            holding = set(deployments.order_by().values_list("agent_id", flat=True))
            self._holding[seats] = holding
        return holding


def _seq_ranges(
    device: Device, events: list[EventIn]
) -> tuple[list[meter.SeqRange], list[meter.SeqRange]]:
    """The device's seen ranges that meet or touch the batch's seqs, sorted (the only ones the
    batch can find a seq in or merge with: ``_mark_seen``), and its retired ranges (raw rows
    dropped by retention) that meet them: such a seq was stored once and can no longer be
    compared, so it is refused. One query for both, reading a few index entries however many
    ranges the device has (one that leaves gaps may have as many as events): the range starting
    at or before the lowest seq less one, and those starting after it up to the highest plus
    one (ranges are disjoint)."""
    seqs = [e.seq for e in events] or [0]
    low, high = min(seqs), max(seqs)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT * FROM ("  # noqa: S608 - our tables
            f'SELECT false, "first", "last" FROM {_SEEN} WHERE device_id = %s AND "first" <= %s '
            'ORDER BY "first" DESC LIMIT 1) below '
            f'UNION ALL SELECT false, "first", "last" FROM {_SEEN} '
            'WHERE device_id = %s AND "first" > %s AND "first" <= %s '
            f'UNION ALL SELECT true, "first", "last" FROM {_RETIRED} '
            'WHERE device_id = %s AND "first" <= %s AND "last" >= %s ORDER BY 2',
            [device.pk, low - 1, device.pk, low - 1, high + 1, device.pk, high, low],
        )
        rows = cursor.fetchall()
    return (
        [(first, last) for is_retired, first, last in rows if not is_retired and last >= low - 1],
        [(first, last) for is_retired, first, last in rows if is_retired],
    )


def _stored_fingerprints(
    device: Device, seen: list[meter.SeqRange], events: list[EventIn]
) -> dict[int, str]:
    """seq → fingerprint of the batch's events already stored. Every stored seq lies in the
    device's seen ranges (marked in the transaction that stored it), so only the batch's seqs
    inside them are looked up (a batch of new seqs costs no query), as one array parameter."""
    if not seen:
        return {}
    firsts = [first for first, _ in seen]
    candidates = []
    for event in events:
        at = bisect_right(firsts, event.seq) - 1
        if at >= 0 and event.seq <= seen[at][1]:
            candidates.append(event.seq)
    if not candidates:
        return {}
    if connection.vendor != "postgresql":
        stored = UsageEvent.objects.filter(device=device, seq__in=candidates)
        return dict(stored.values_list("seq", "fingerprint"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT seq, fingerprint FROM {_RAW} "  # noqa: S608 - our table
            "WHERE device_id = %s AND seq = ANY(%s::bigint[])",
            [device.pk, _array_literal(candidates)],
        )
        return dict(cursor.fetchall())


# The device's row, locked: batches of one device are serialised.
_LOCKED_DEVICE = CompiledQuery(
    lambda device: Device.objects.select_for_update().filter(pk=device).values_list("pk"),
    device=Device._meta.pk,
)


def _deployed(device: int):
    """(agent id, version string, version id) on the device, one per agent: its deployments,
    whether they hold a seat now or not (``_Entitled`` asks at each event's start)."""
    return (
        Deployment.objects.filter(device=device)
        .order_by()  # one per agent; the default ordering would join device and agent to sort
        .values_list("agent_id", "version__version", "version_id")
    )


_DEPLOYED = CompiledQuery(_deployed, device=Deployment._meta.get_field("device"))


_RAW_COLUMNS = (
    ("seq", "bigint"),
    ("kind", "text"),
    ("agent_id", "bigint"),
    ("version_id", "bigint"),
    ("started_at", "timestamptz"),
    ("ended_at", "timestamptz"),
    ("inferences", "bigint"),
    ("peak_arena_bytes", "bigint"),
    ("fingerprint", "text"),
)


def _store(device: Device, events: list[EventIn], deployed, now: datetime) -> None:
    """One INSERT for the batch, ``ON CONFLICT DO NOTHING`` so a concurrent resend cannot fail
    the transaction (the key includes ``started_at``, the partition key on PostgreSQL; the
    lookup under the device lock already turned away every stored seq). On PostgreSQL each
    column travels as one array literal (``unnest``), a single string built in C by
    ``str.join``: no per-value work in the ORM or the driver; elsewhere ``bulk_create``
    (INSERT OR IGNORE on SQLite)."""
    if not events:
        return
    if connection.vendor != "postgresql":
        UsageEvent.objects.bulk_create(
            [
                UsageEvent(
                    tenant_id=device.tenant_id,
                    device_id=device.pk,
                    seq=e.seq,
                    kind=e.kind,
                    agent_id=e.agent,
                    version_id=deployed[e.agent][1],
                    started_at=e.started_at,
                    ended_at=e.ended_at,
                    inferences=e.inferences,
                    peak_arena_bytes=e.peak_arena_bytes,
                    fingerprint=e.fingerprint,
                    received_at=now,
                )
                for e in events
            ],
            ignore_conflicts=True,
        )
        return
    columns = (
        [e.seq for e in events],
        [e.kind for e in events],
        [e.agent for e in events],
        [deployed[e.agent][1] for e in events],
        [e.started_iso for e in events],
        [e.ended_iso for e in events],
        [e.inferences for e in events],
        [e.peak_arena_bytes for e in events],
        [e.fingerprint for e in events],
    )
    names = ", ".join(name for name, _ in _RAW_COLUMNS)
    arrays = ", ".join(f"%s::{kind}[]" for _, kind in _RAW_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_RAW} (tenant_id, device_id, received_at, {names}) "  # noqa: S608 - our names
            f"SELECT %s, %s, %s, * FROM unnest({arrays}) "
            "ON CONFLICT (device_id, seq, started_at) DO NOTHING",
            [device.tenant_id, device.pk, now, *map(_array_literal, columns)],
        )


def _array_literal(values: list) -> str:
    """A PostgreSQL array literal of values none of which needs quoting: integers, ISO 8601
    timestamps, hex digests and our kind names (all validated before); None is NULL."""
    if None in values:
        values = ["NULL" if value is None else value for value in values]
    return "{" + ",".join(map(str, values)) + "}"


def _added_session_seconds(device: Device, sessions: list[EventIn]) -> list[tuple]:
    """Rollup rows (tenant, agent, device, hour, seconds): the time the new sessions add to
    each (agent, hour) beyond the stored sessions that overlap them (overlaps count once).
    Read before the new sessions are stored."""
    by_agent: dict[int, list[meter.Interval]] = defaultdict(list)
    for session in sessions:
        by_agent[session.agent].append((session.started_at, session.ended_at))
    rows = []
    for agent, new in by_agent.items():
        old = _OVERLAPPING.fetch(
            device=device.pk,
            agent=agent,
            before=max(end for _, end in new),
            after=min(start for start, _ in new),
        )
        for hour, seconds in sorted(meter.added_seconds(old, new).items()):
            rows.append((device.tenant_id, agent, device.pk, hour, seconds))
    return rows


def _sessions_overlapping(device: int, agent: int, before: datetime, after: datetime):
    """(start, end) of the device's stored sessions of the agent that start before ``before``
    and end after ``after``."""
    return (
        UsageEvent.objects.filter(
            device=device,
            agent_id=agent,
            kind=UsageKind.SESSION,
            started_at__lt=before,
            ended_at__gt=after,
        )
        .order_by()  # the meter sorts; the default ordering would join the device to sort
        .values_list("started_at", "ended_at")
    )


_OVERLAPPING = CompiledQuery(
    _sessions_overlapping,
    device=UsageEvent._meta.get_field("device"),
    agent=UsageEvent._meta.get_field("agent"),
    before=UsageEvent._meta.get_field("started_at"),
    after=UsageEvent._meta.get_field("ended_at"),
)


def _upsert_hours(rows: list[tuple]) -> None:
    """One upsert for the batch's rollup rows, adding seconds to the stored ones."""
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


def _mark_seen(device: Device, existing: list[meter.SeqRange], seqs: set[int]) -> None:
    """Merge the batch's seqs into the device's seen ranges: ``existing`` holds those that
    meet or touch them (``_seq_ranges``, read under the lock), the only ones a merge can
    change; the device's others stay as they are."""
    merged = meter.merge_seqs(existing, seqs)
    if merged == existing:
        return
    kept = set(existing) & set(merged)
    gone = [first for first, last in existing if (first, last) not in kept]
    new = [(first, last) for first, last in merged if (first, last) not in kept]
    if len(gone) == len(new) == 1 and gone[0] == new[0][0]:
        # One range grew at its end (a device reporting in order): one UPDATE.
        with connection.cursor() as cursor:
            cursor.execute(
                f'UPDATE {_SEEN} SET "last" = %s WHERE device_id = %s AND "first" = %s',  # noqa: S608
                [new[0][1], device.pk, gone[0]],
            )
        return
    if gone:
        UsageSeqRange.objects.filter(device=device, first__in=gone).delete()
    UsageSeqRange.objects.bulk_create(
        [UsageSeqRange(device=device, first=first, last=last) for first, last in new]
    )


@dataclass(frozen=True)
class Gaps:
    highest_seq: int | None
    missing: list[meter.SeqRange]
    more: bool  # gaps above the last of ``missing`` were left for the next page


def usage_gaps(device: Device, *, after: int = 0, most: int) -> Gaps:
    """The first ``most`` runs of sequence numbers above ``after`` and below the highest one
    seen that the device never sent. Reads at most ``most`` + 2 ranges whatever their number
    (a device numbering by timestamps has a range per event): ranges are merged, so each but
    the first has a gap before it."""
    ranges = UsageSeqRange.objects.filter(device=device).order_by("first")
    highest = ranges.reverse().values_list("last", flat=True).first()
    nearest = ranges.filter(last__gt=after).values_list("first", "last")[: most + 2]
    missing = meter.gaps(nearest, after=after)
    return Gaps(highest, missing[:most], more=len(missing) > most)


def devices_with_gaps() -> int:
    """How many devices have a gap: ranges are merged, so a range not starting at 1 is one.
    Every /metrics scrape asks, so each device is asked for its first such range (one probe
    of the (device, first) index, a subquery PostgreSQL runs per device rather than joins):
    a scrape reads a range a device, not every range of every device."""
    after_a_gap = UsageSeqRange.objects.filter(device=OuterRef("pk"), first__gt=1)
    first_after_a_gap = Subquery(after_a_gap.order_by("first").values("first")[:1])
    return Device.objects.alias(gap=first_after_a_gap).filter(gap__isnull=False).count()
