"""The meter's arithmetic (pure): union of session intervals, seconds per hour, the seen
sequence ranges of a device, and the one rounding rule from seconds to billed agent-hours."""

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar

_HOUR_S = 3600
_SECOND = timedelta(seconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SECONDS_PER_HOUR = Decimal(_HOUR_S)
HOUR_PLACES = Decimal("0.000001")  # agent-hours and other quantities: six decimal places

Interval = tuple[datetime, datetime]
_T = TypeVar("_T", datetime, int)  # the meter works on datetimes and on whole epoch seconds


def union(intervals: Iterable[tuple[_T, _T]]) -> list[tuple[_T, _T]]:
    """Sorted, disjoint intervals covering the same time: overlapping or repeated sessions
    count once. Empty intervals (end <= start) cover nothing."""
    merged: list[tuple[_T, _T]] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def hour_of(moment: datetime) -> datetime:
    """The UTC hour ``moment`` falls in: usage is rolled up, and billed, by these hours."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def ceil_hour(moment: datetime) -> datetime:
    """The first whole UTC hour at or after ``moment``."""
    floor = hour_of(moment)
    return floor if floor == moment else floor + timedelta(hours=1)


def hours_valid(valid_from: datetime, valid_until: datetime | None):
    """The whole hours an entitlement valid from ``valid_from`` until ``valid_until`` (None:
    open-ended) covers, [start, end): from the hour it starts to the end of the hour it ends.
    Usage in them is its to bill (the invoice's rule). Metering accepts a session from the
    hour an entitlement began to the instant it ended, not to the end of that hour
    (``billing.usage``): a cancelled plan's device is not entitled after the cancellation."""
    return hour_of(valid_from), None if valid_until is None else ceil_hour(valid_until)


def _whole_seconds(intervals: Iterable[Interval]) -> list[tuple[int, int]]:
    """Sessions measured in whole seconds since the epoch: each end is cut down to its second,
    so every sum below is exact and adding sessions later changes an hour by exactly what they
    add. (Integers, not datetimes: a batch of 1,000 sessions is metered on every ingest.)"""
    return [((start - _EPOCH) // _SECOND, (end - _EPOCH) // _SECOND) for start, end in intervals]


def _per_hour(merged: list[tuple[int, int]]) -> dict[datetime, int]:
    """Seconds of sorted disjoint whole-second intervals in each UTC hour they touch."""
    seconds: dict[int, int] = defaultdict(int)
    for start, end in merged:
        hour = start - start % _HOUR_S
        while hour < end:
            following = hour + _HOUR_S
            seconds[hour] += min(end, following) - max(start, hour)
            hour = following
    return {_EPOCH + timedelta(seconds=hour): count for hour, count in seconds.items() if count}


def seconds_per_hour(intervals: Iterable[Interval]) -> dict[datetime, int]:
    """Whole seconds covered by the union of ``intervals`` in each UTC hour they touch.

    Cutting at hours also cuts at every billing-period boundary (periods are whole months,
    so whole hours)."""
    return _per_hour(union(_whole_seconds(intervals)))


def subtract(covered: list[tuple[_T, _T]], removed: list[tuple[_T, _T]]) -> list[tuple[_T, _T]]:
    """The parts of sorted disjoint ``covered`` not in sorted disjoint ``removed``."""
    result: list[tuple[_T, _T]] = []
    index = 0
    for start, end in covered:
        while index < len(removed) and removed[index][1] <= start:
            index += 1
        cursor, probe = start, index
        while probe < len(removed) and removed[probe][0] < end:
            if removed[probe][0] > cursor:
                result.append((cursor, removed[probe][0]))
            cursor = max(cursor, removed[probe][1])
            probe += 1
        if cursor < end:
            result.append((cursor, end))
    return result


def added_seconds(old: Iterable[Interval], new: Iterable[Interval]) -> dict[datetime, int]:
    """Seconds each hour gains when ``new`` sessions join the ``old`` ones: the time only the
    new ones cover. Only old sessions overlapping a new one matter."""
    return _per_hour(subtract(union(_whole_seconds(new)), union(_whole_seconds(old))))


def billed_hours(seconds: int) -> Decimal:
    """The rounding rule of agent-hours, the one invoices bill and usage reports show:
    seconds / 3600 to six decimal places, half-up. Apply it once to a billing period's total
    per entitlement, never per hour or per device row.

    billed_hours(0) == 0, billed_hours(1) == 0.000278, billed_hours(3600) == 1,
    billed_hours(3601) == 1.000278."""
    if seconds < 0:
        raise ValueError("seconds cannot be negative")
    return (Decimal(seconds) / SECONDS_PER_HOUR).quantize(HOUR_PLACES, rounding=ROUND_HALF_UP)


# --- sequence numbers seen per device ------------------------------------------------------

SeqRange = tuple[int, int]


def merge_seqs(ranges: Iterable[SeqRange], seqs: Iterable[int]) -> list[SeqRange]:
    """Disjoint, sorted inclusive ranges covering ``ranges`` and ``seqs``; adjacent ranges join."""
    items = sorted([*ranges, *((s, s) for s in seqs)])
    merged: list[SeqRange] = []
    for first, last in items:
        if merged and first <= merged[-1][1] + 1:
            if last > merged[-1][1]:
                merged[-1] = (merged[-1][0], last)
        else:
            merged.append((first, last))
    return merged


def gaps(ranges: Iterable[SeqRange], *, after: int = 0) -> list[SeqRange]:
    """Sequence numbers never seen below the highest seen one (devices number from 1), those
    above ``after`` only."""
    missing: list[SeqRange] = []
    expected = after + 1
    for first, last in sorted(ranges):
        if first > expected:
            missing.append((expected, first - 1))
        expected = max(expected, last + 1)
    return missing
