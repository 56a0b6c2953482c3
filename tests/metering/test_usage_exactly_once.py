"""A device that resends every batch, twice, in shuffled order: each event is stored once and
the hourly rollup equals a recomputation from the raw events."""

import random
from datetime import timedelta

import pytest

from billing.models import UsageEvent, UsageHour
from tests.metering.conftest import recomputed_rollup, stored_rollup

pytestmark = pytest.mark.django_db


def test_first_send_is_accepted_and_a_resend_is_duplicate(metered):
    events = [metered.session(1, metered.base, 30), metered.heartbeat(2, metered.base)]
    first = metered.send(events)
    assert first.status_code == 200, first.json()
    assert first.json()["totals"] == {"accepted": 2, "duplicate": 0, "rejected": 0}
    again = metered.send(events)
    assert [r["outcome"] for r in again.json()["results"]] == ["duplicate", "duplicate"]
    assert UsageEvent.objects.count() == 2
    assert UsageHour.objects.get().seconds == 30 * 60


def test_shuffled_double_resends_store_every_event_once_and_rollups_match_raw(metered):
    rng = random.Random(13)
    events = []
    for seq in range(1, 301):
        # Sessions overlap their neighbours and cross hour boundaries.
        start = metered.base + timedelta(minutes=rng.randrange(0, 10 * 60))
        events.append(metered.session(seq, start, rng.randrange(1, 90), inferences=seq))
    batches = [events[i : i + 25] for i in range(0, len(events), 25)]
    sends = batches + batches
    rng.shuffle(sends)
    totals = {"accepted": 0, "duplicate": 0, "rejected": 0}
    for batch in sends:
        batch = list(batch)
        rng.shuffle(batch)
        response = metered.send(batch)
        assert response.status_code == 200, response.json()
        for key, count in response.json()["totals"].items():
            totals[key] += count
    assert totals == {"accepted": 300, "duplicate": 300, "rejected": 0}
    assert sorted(UsageEvent.objects.values_list("seq", flat=True)) == list(range(1, 301))
    assert stored_rollup() == recomputed_rollup()
    # The union never exceeds wall-clock time: at most the ten-and-a-half hours spanned.
    assert 0 < sum(stored_rollup().values()) <= 12 * 3600


def test_overlapping_sessions_in_separate_batches_count_once(metered):
    metered.send([metered.session(1, metered.base, 40)])
    metered.send([metered.session(2, metered.base + timedelta(minutes=20), 40)])
    hours = dict(UsageHour.objects.values_list("hour", "seconds"))
    assert hours == {metered.base: 3600}
    metered.send([metered.session(3, metered.base + timedelta(minutes=50), 20)])
    hours = dict(UsageHour.objects.values_list("hour", "seconds"))
    assert hours == {metered.base: 3600, metered.base + timedelta(hours=1): 10 * 60}
    assert stored_rollup() == recomputed_rollup()


def test_a_batch_costs_the_same_queries_whatever_its_size(metered):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if connection.vendor != "postgresql":
        pytest.skip("SQLite caps the variables of one statement, so Django splits big inserts")

    def queries(first_seq, count):
        events = [
            metered.session(seq, metered.base + timedelta(seconds=seq), 1)
            for seq in range(first_seq, first_seq + count)
        ]
        with CaptureQueriesContext(connection) as captured:
            assert metered.send(events).json()["totals"]["accepted"] == count
        return len(captured)

    assert queries(1, 10) == queries(11, 1000)


def test_a_resend_across_a_month_boundary_is_still_a_duplicate(metered, time_machine):
    # The last month start at least an hour ago: the session must have ended by now (in the
    # first minutes of a month, this month's start is too close, and the session in_future).
    month_start = (metered.now - timedelta(hours=1)).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0
    )
    event = metered.session(1, month_start - timedelta(minutes=30), 60)
    assert metered.send([event]).json()["totals"]["accepted"] == 1
    time_machine.move_to(month_start + timedelta(days=32), tick=False)
    assert metered.send([event]).json()["results"] == [{"seq": 1, "outcome": "duplicate"}]
    assert UsageEvent.objects.count() == 1
    assert stored_rollup() == recomputed_rollup()
    assert sorted(stored_rollup().values()) == [1800, 1800]
