"""UTC months (billing.periods): the start of a moment's month, stepping months, the last
closed month, labels (of a month, of a range of months), and the parser that reads back
exactly the labels it writes."""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.errors import InvalidPeriod
from billing.periods import (
    add_months,
    last_closed_month,
    month_label,
    month_start,
    months_label,
    next_month,
    parse_month,
    previous_month,
)

moments = st.datetimes(
    min_value=datetime(2001, 1, 1), max_value=datetime(2998, 12, 31), timezones=st.just(UTC)
)
months = moments.map(month_start)


def test_a_moment_belongs_to_its_utc_month():
    evening_in_new_york = datetime(2026, 1, 31, 20, tzinfo=timezone(timedelta(hours=-5)))
    assert month_start(evening_in_new_york) == datetime(2026, 2, 1, tzinfo=UTC)
    assert month_start(date(2026, 3, 17)) == datetime(2026, 3, 1, tzinfo=UTC)


def test_months_step_across_the_year():
    assert next_month(datetime(2026, 12, 31, 23, tzinfo=UTC)) == datetime(2027, 1, 1, tzinfo=UTC)
    assert previous_month(datetime(2026, 1, 15, tzinfo=UTC)) == datetime(2025, 12, 1, tzinfo=UTC)
    assert add_months(datetime(2026, 3, 1, tzinfo=UTC), -14) == datetime(2025, 1, 1, tzinfo=UTC)


def test_the_last_closed_month_is_the_one_before_now():
    assert last_closed_month(datetime(2026, 3, 1, 0, 30, tzinfo=UTC)) == datetime(
        2026, 2, 1, tzinfo=UTC
    )


@given(moments)
def test_a_month_start_is_the_first_instant_of_the_month_holding_the_moment(moment):
    start = month_start(moment)
    assert start <= moment < next_month(start)
    assert (start.day, start.hour, start.minute, start.second, start.microsecond) == (1, 0, 0, 0, 0)


@given(months, st.integers(min_value=-12, max_value=12), st.integers(min_value=-12, max_value=12))
def test_stepping_months_adds_up(month, first, second):
    assert add_months(add_months(month, first), second) == add_months(month, first + second)
    assert previous_month(next_month(month)) == month


@given(months)
def test_a_label_reads_back_as_its_month(month):
    assert parse_month(month_label(month)) == month


@pytest.mark.parametrize(
    "label",
    [
        "",
        None,
        "x",
        "2026-1",
        "2026-00",
        "2026-13",
        "1999-12",
        "0000-01",
        "12026-01",
        "2026-01-01",
        "2026/01",
        " 2026-01",
        "2026-01\n",
        "\u0662\u0660\u0662\u0666-01",
        "\uff12\uff10\uff12\uff16-01",
    ],
)
def test_anything_but_a_yyyy_mm_month_from_2000_is_refused(label):
    with pytest.raises(InvalidPeriod) as refused:
        parse_month(label)
    assert refused.value.code == "invalid_period" and refused.value.status == 400


@given(months, st.integers(min_value=0, max_value=12))
def test_a_range_of_months_is_labelled_by_its_first_and_last_month(first, count):
    """``2026-01--2026-03``; one month alone is its own label, ``2026-03``."""
    last = add_months(first, count)
    label = months_label(first, last)
    assert [parse_month(part) for part in label.split("--")] == (
        [first] if count == 0 else [first, last]
    )
