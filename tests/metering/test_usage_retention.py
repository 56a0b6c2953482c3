"""Raw usage retention: on PostgreSQL the raw table is partitioned by month, the beat job keeps
partitions ready ahead and drops whole months past USAGE_RAW_RETENTION_DAYS; elsewhere it
deletes the same rows. Rollups stay, and a resend of a dropped event is never stored again."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from billing import partitions
from billing.models import UsageEvent, UsageHour, UsageRetiredSeqRange
from billing.periods import add_months, month_start
from billing.tasks import maintain_usage_partitions
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db

on_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="declarative partitioning is PostgreSQL's"
)


def run_beat_job() -> dict:
    """The task the beat schedule names, run in this process."""
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "billing.tasks.maintain_usage_partitions" in scheduled
    return maintain_usage_partitions.apply().get()


def partition_of(seq: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM billing_usageevent WHERE seq = %s", [seq]
        )
        return cursor.fetchone()[0]


def monthly_partitions() -> dict:
    with connection.cursor() as cursor:
        return partitions.monthly_partitions(cursor)


@on_postgres
def test_events_are_stored_in_the_partition_of_their_month(metered):
    assert metered.send([metered.session(1, metered.base, 30)]).json()["totals"]["accepted"] == 1
    month = month_start(metered.base)
    assert partition_of(1) == partitions.partition_name(month)
    ahead = add_months(month_start(metered.now), settings.USAGE_PARTITIONS_AHEAD)
    assert ahead in monthly_partitions()


@on_postgres
def test_a_month_without_its_partition_goes_to_default_and_moves_when_the_job_creates_it(
    metered, time_machine
):
    later = metered.now + timedelta(days=31 * (settings.USAGE_PARTITIONS_AHEAD + 2))
    month = month_start(later)
    assert month not in monthly_partitions()
    time_machine.move_to(later, tick=False)
    event = metered.session(1, later - timedelta(hours=2), 30)
    assert metered.send([event]).json()["totals"]["accepted"] == 1
    assert partition_of(1) == partitions.DEFAULT

    result = run_beat_job()

    assert partitions.partition_name(month) in result["created"]
    assert partition_of(1) == partitions.partition_name(month)
    assert metered.send([event]).json()["results"] == [{"seq": 1, "outcome": "duplicate"}]
    assert UsageEvent.objects.count() == 1


def test_a_seq_resent_with_another_time_in_another_month_is_a_conflict(metered):
    this_month = month_start(metered.now)
    first = metered.session(1, this_month - timedelta(hours=3), 30)
    assert metered.send([first]).json()["totals"]["accepted"] == 1
    moved = metered.session(1, metered.now - timedelta(minutes=40), 30)
    answer = metered.send([moved]).json()
    assert answer["results"] == [{"seq": 1, "outcome": "rejected", "code": "seq_conflict"}]
    assert list(UsageEvent.objects.values_list("seq", "started_at")) == [
        (1, this_month - timedelta(hours=3))
    ]


def test_retention_drops_old_raw_months_keeps_rollups_and_refuses_resends(
    metered, customer, time_machine
):
    events = [metered.session(seq, metered.base + timedelta(minutes=seq), 20) for seq in (1, 2, 3)]
    events.append(metered.heartbeat(5, metered.base))
    assert metered.send(events).json()["totals"]["accepted"] == 4
    rollup = dict(UsageHour.objects.values_list("hour", "seconds"))
    day = metered.base.date()
    report_url = f"/api/v1/usage?from={day}&to={day + timedelta(days=1)}"
    report = metered.client.get(report_url).json()["rows"]

    # Within the retention nothing goes (the job may run at any time).
    run_beat_job()
    assert UsageEvent.objects.count() == 4
    # Once the whole month is older than the retention, its raw events go.
    month_end = add_months(month_start(metered.base), 1)
    now = month_end + timedelta(days=settings.USAGE_RAW_RETENTION_DAYS, minutes=1)
    time_machine.move_to(now, tick=False)
    result = run_beat_job()

    assert not UsageEvent.objects.exists()
    if connection.vendor == "postgresql":
        assert partitions.partition_name(month_start(metered.base)) in result["dropped"]
        assert month_start(metered.base) not in monthly_partitions()
    else:
        assert result["deleted"] == 4
    assert dict(UsageHour.objects.values_list("hour", "seconds")) == rollup
    # The tenant signs in again (the access token expired meanwhile) and reads the same hours.
    tenant_admin = APIClient()
    tokens = sign_in(tenant_admin, customer[1].user)
    tenant_admin.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert tenant_admin.get(report_url).json()["rows"] == report
    assert list(UsageRetiredSeqRange.objects.values_list("first", "last")) == [(1, 3), (5, 5)]
    # The gap at 4 stays a gap that a backfill may close.
    gaps = tenant_admin.get(f"/api/v1/devices/{metered.device_id}/usage-gaps").json()
    assert gaps["gaps"] == [{"first": 4, "last": 4}]

    # A resend of a dropped event, as sent or with a fresh time, is never stored again.
    fresh = metered.session(2, now - timedelta(hours=1), 10)
    answer = metered.send([events[0], fresh]).json()
    assert answer["results"] == [
        {"seq": 1, "outcome": "rejected", "code": "too_late"},
        {"seq": 2, "outcome": "rejected", "code": "too_late"},
    ]
    assert not UsageEvent.objects.exists()
