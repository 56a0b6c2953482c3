"""The meter's arithmetic: overlapping sessions count once, hours are cut at boundaries,
adding sessions in any order gives the same hours, and the billed-hours rounding rule."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing import meter

T0 = datetime(2026, 1, 31, 23, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_overlapping_and_repeated_sessions_count_once():
    sessions = [(at(0), at(30)), (at(10), at(40)), (at(0), at(30))]
    assert meter.seconds_per_hour(sessions) == {T0: 40 * 60}


def test_a_session_is_cut_at_hour_and_month_boundaries():
    hours = meter.seconds_per_hour([(at(45), at(75))])
    assert hours == {T0: 15 * 60, datetime(2026, 2, 1, 0, tzinfo=UTC): 15 * 60}


def test_sessions_are_measured_in_whole_seconds():
    half = timedelta(milliseconds=500)
    sessions = [(T0, T0 + half), (T0 + 2 * half, T0 + 5 * half)]
    assert meter.seconds_per_hour(sessions) == {T0: 1}
    # On the whole-second grid (docs/metering.md): crossing a second's boundary counts it.
    tenth = timedelta(milliseconds=100)
    assert meter.seconds_per_hour([(T0 + 9 * tenth, T0 + 11 * tenth)]) == {T0: 1}
    assert meter.seconds_per_hour([(T0 + 11 * tenth, T0 + 19 * tenth)]) == {}


def test_subtracting_intervals():
    covered = [(at(0), at(10)), (at(20), at(30))]
    removed = [(at(2), at(4)), (at(8), at(22)), (at(25), at(26))]
    assert meter.subtract(covered, removed) == [
        (at(0), at(2)),
        (at(4), at(8)),
        (at(22), at(25)),
        (at(26), at(30)),
    ]


intervals = st.lists(
    st.tuples(st.integers(0, 5 * 3600 * 1000), st.integers(0, 2 * 3600 * 1000)).map(
        lambda p: (
            T0 + timedelta(milliseconds=p[0]),
            T0 + timedelta(milliseconds=p[0] + p[1]),
        )
    ),
    max_size=8,
)


@given(st.lists(intervals, max_size=5))
def test_adding_batches_one_by_one_equals_metering_them_all_at_once(batches):
    # Each batch gains only what no stored session covers, so the per-hour sums match.
    stored: list = []
    total: dict = {}
    for batch in batches:
        for hour, seconds in meter.added_seconds(stored, batch).items():
            total[hour] = total.get(hour, 0) + seconds
        stored.extend(batch)
    assert total == meter.seconds_per_hour(stored)


def test_billed_hours_are_seconds_over_3600_to_six_places_half_up():
    assert meter.billed_hours(0) == Decimal("0")
    assert meter.billed_hours(1) == Decimal("0.000278")  # 0.00027777… rounds up
    assert meter.billed_hours(3600) == Decimal("1.000000")
    assert meter.billed_hours(3601) == Decimal("1.000278")
    assert meter.billed_hours(105 * 60) == Decimal("1.750000")
    assert str(meter.billed_hours(7)) == "0.001944"  # 0.0019444… rounds down
    with pytest.raises(ValueError, match="negative"):
        meter.billed_hours(-1)


def test_gaps_are_the_unseen_numbers_below_the_highest_seen():
    ranges = meter.merge_seqs([], [1, 2, 3, 7, 8, 12])
    assert ranges == [(1, 3), (7, 8), (12, 12)]
    assert meter.gaps(ranges) == [(4, 6), (9, 11)]
    assert meter.gaps(meter.merge_seqs(ranges, [4, 5, 6, 9, 10, 11])) == []
    assert meter.gaps([(5, 9)]) == [(1, 4)]
