"""Raw usage retention: keep the monthly partitions ready ahead (PostgreSQL), and drop raw
events once their whole month is older than ``USAGE_RAW_RETENTION_DAYS`` (a partition at a time
on PostgreSQL, a plain DELETE elsewhere). Rollups (``UsageHour``) are never touched; the
dropped sequence numbers are kept as ranges so a resend is still refused."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from billing import meter, partitions
from billing.models import UsageEvent, UsageRetiredSeqRange
from billing.periods import add_months, month_start
from billing.usage import earliest_accepted

# Maintenance waits this long at most for the raw table's lock (ingest holds it briefly);
# the beat job runs again in a few hours if it gives up.
_LOCK_TIMEOUT = "10s"


@dataclass
class RetentionResult:
    created: list[str] = field(default_factory=list)  # partitions created
    dropped: list[str] = field(default_factory=list)  # partitions dropped
    deleted: int = 0  # raw rows deleted outside a dropped partition
    cutoff: datetime | None = None  # raw events that started before this are gone


def maintain_usage_partitions(now: datetime | None = None) -> RetentionResult:
    """Create the missing monthly partitions, then apply retention; what the beat job runs."""
    now = now or timezone.now()
    result = RetentionResult(created=create_usage_partitions(now))
    expired = drop_expired_usage(now)
    result.dropped, result.deleted, result.cutoff = expired.dropped, expired.deleted, expired.cutoff
    return result


@transaction.atomic
def create_usage_partitions(now: datetime | None = None) -> list[str]:
    """On PostgreSQL, every monthly partition from the oldest month an event may still be
    accepted into to ``USAGE_PARTITIONS_AHEAD`` months after this one; elsewhere nothing."""
    if not _partitioned():
        return []
    now = now or timezone.now()
    month = month_start(earliest_accepted(now))
    last = add_months(now, settings.USAGE_PARTITIONS_AHEAD)
    created = []
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = '{_LOCK_TIMEOUT}'")
        existing = partitions.monthly_partitions(cursor)
        while month <= last:
            if month not in existing:
                created.append(partitions.create_month_partition(cursor, month))
            month = add_months(month, 1)
    return created


def retention_cutoff(now: datetime) -> datetime:
    """Raw events that started before this are dropped: the start of the first month not yet
    wholly older than the retention."""
    return month_start(now - timedelta(days=settings.USAGE_RAW_RETENTION_DAYS))


@transaction.atomic
def drop_expired_usage(now: datetime | None = None) -> RetentionResult:
    """Drop raw events that started before ``retention_cutoff``: their sequence numbers join
    each device's retired ranges first, in the same transaction."""
    cutoff = retention_cutoff(now or timezone.now())
    result = RetentionResult(cutoff=cutoff)
    _retire_seqs(cutoff)
    if _partitioned():
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{_LOCK_TIMEOUT}'")
            # A table with trigger events pending in this transaction cannot be dropped: run
            # whatever the caller left deferred now. (The raw table's references are checked
            # at the end of each statement since billing/0011, so none of its own waits.)
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for month, name in sorted(partitions.monthly_partitions(cursor).items()):
                if add_months(month, 1) <= cutoff:
                    partitions.drop_partition(cursor, name)
                    result.dropped.append(name)
    # What is left before the cutoff sits in the default partition, or in the one plain table.
    result.deleted, _ = UsageEvent.objects.filter(started_at__lt=cutoff).delete()
    return result


def _retire_seqs(cutoff: datetime) -> None:
    """Merge the (device, seq) of the raw events before ``cutoff`` into the retired ranges,
    computed in the database as runs of consecutive seqs (gaps and islands)."""
    table = connection.ops.quote_name(UsageEvent._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT device_id, min(seq), max(seq) FROM ("  # noqa: S608 - our table name
            "  SELECT device_id, seq, seq - row_number() OVER "
            "    (PARTITION BY device_id ORDER BY seq) AS island "
            f"  FROM {table} WHERE started_at < %s"
            ") runs GROUP BY device_id, island",
            [connection.ops.adapt_datetimefield_value(cutoff)],
        )
        runs: dict[int, list[meter.SeqRange]] = {}
        for device, first, last in cursor.fetchall():
            runs.setdefault(device, []).append((first, last))
    for device, ranges in runs.items():
        existing = list(
            UsageRetiredSeqRange.objects.filter(device_id=device).values_list("first", "last")
        )
        merged = meter.merge_seqs([*existing, *ranges], ())
        UsageRetiredSeqRange.objects.filter(device_id=device).delete()
        UsageRetiredSeqRange.objects.bulk_create(
            [UsageRetiredSeqRange(device_id=device, first=f, last=la) for f, la in merged]
        )


def _partitioned() -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        return partitions.is_partitioned(cursor)
