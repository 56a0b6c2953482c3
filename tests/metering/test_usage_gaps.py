"""Gaps: the server lists the sequence numbers a device has not sent, a backfill closes
them, Prometheus counts devices with gaps, and another tenant's device is not found."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def gaps(metered, client=None):
    return (client or metered.client).get(f"/api/v1/devices/{metered.device_id}/usage-gaps")


def gauge(scrape) -> float:
    body = scrape().content.decode()
    [line] = [
        line for line in body.splitlines() if line.startswith("edgeplug_usage_devices_with_gaps ")
    ]
    return float(line.split()[1])


def test_gaps_are_listed_and_close_on_backfill(metered, scrape):
    assert gaps(metered).json() == {
        "device": metered.device_id,
        "highest_seq": None,
        "gaps": [],
        "next": None,
    }
    metered.send([metered.heartbeat(seq, metered.base) for seq in (1, 2, 5, 9)])
    body = gaps(metered).json()
    assert body["highest_seq"] == 9
    assert body["gaps"] == [{"first": 3, "last": 4}, {"first": 6, "last": 8}]
    assert gauge(scrape) == 1
    metered.send([metered.heartbeat(seq, metered.base) for seq in (3, 4, 6)])
    assert gaps(metered).json()["gaps"] == [{"first": 7, "last": 8}]
    metered.send([metered.heartbeat(seq, metered.base) for seq in (8, 7)])
    assert gaps(metered).json() == {
        "device": metered.device_id,
        "highest_seq": 9,
        "gaps": [],
        "next": None,
    }
    assert gauge(scrape) == 0


def test_a_refused_event_is_answered_so_it_is_no_gap(metered):
    metered.send(
        [
            metered.heartbeat(1, metered.base),
            {**metered.heartbeat(2, metered.base), "version": "0.0.1"},
            metered.heartbeat(3, metered.base),
        ]
    )
    assert gaps(metered).json()["gaps"] == []


def test_another_tenants_device_gaps_are_404(metered, member_client):
    stranger, _ = member_client("admin")
    response = gaps(metered, stranger)
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_members_without_device_roles_may_not_read_gaps(metered, member_client):
    developer, _ = member_client("developer", tenant=metered_tenant(metered))
    assert gaps(metered, developer).status_code == 403


def metered_tenant(metered):
    from marketplace.models import Device

    return Device.objects.get(pk=metered.device_id).tenant


def test_a_batch_touches_only_the_ranges_its_seqs_meet(metered):
    """A device that leaves gaps (even seqs only, seqs that are timestamps) has as many ranges
    as events: each batch read all of them and wrote them all again, slower with every batch.
    Now it reads and writes only the ranges next to its own seqs; the others stay as they were."""
    from billing.models import UsageSeqRange

    metered.send([metered.heartbeat(seq, metered.base) for seq in range(2, 400, 2)])
    before = dict(UsageSeqRange.objects.values_list("first", "id"))
    assert len(before) == 199

    # The next batch, and a backfill of one gap: one reaches the last range, one joins two.
    metered.send([metered.heartbeat(seq, metered.base) for seq in (399, 400, 404)])
    metered.send([metered.heartbeat(101, metered.base)])

    after = dict(UsageSeqRange.objects.values_list("first", "id"))
    untouched = {first: pk for first, pk in before.items() if first not in (100, 102, 398)}
    assert untouched.items() <= after.items()  # the same rows, not written again
    assert set(after) == (set(before) - {102}) | {404}
    assert UsageSeqRange.objects.get(first=100).last == 102
    assert UsageSeqRange.objects.get(first=398).last == 400
    assert gaps(metered).json()["highest_seq"] == 404


def test_many_gaps_come_a_page_at_a_time_following_next(metered):
    """A device numbering its events with gaps (seqs that are timestamps) can leave more gaps
    than one answer should carry: they come ``page_size`` at a time, ``next`` naming the page
    after (``after`` the last gap shown), until ``next`` is null."""
    metered.send([metered.heartbeat(seq, metered.base) for seq in range(2, 60, 2)])
    url = f"/api/v1/devices/{metered.device_id}/usage-gaps?page_size=7"
    pages = []
    while url:
        body = metered.client.get(url).json()
        assert body["highest_seq"] == 58
        pages.append(body["gaps"])
        url = body["next"]
    assert [len(page) for page in pages] == [7, 7, 7, 7, 1]
    shown = [gap for page in pages for gap in page]
    assert shown == [{"first": seq, "last": seq} for seq in range(1, 58, 2)]
    assert gaps(metered).json()["next"] is None  # 29 gaps: one default page


def test_gaps_above_a_seq(metered):
    metered.send([metered.heartbeat(seq, metered.base) for seq in (1, 5, 9)])
    url = f"/api/v1/devices/{metered.device_id}/usage-gaps?after=3"
    assert metered.client.get(url).json()["gaps"] == [
        {"first": 4, "last": 4},
        {"first": 6, "last": 8},
    ]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("after=-1", "invalid_after"),
        ("after=x", "invalid_after"),
        ("after=" + "9" * 5000, "invalid_after"),
        ("page_size=0", "invalid_page_size"),
        ("page_size=1e3", "invalid_page_size"),
    ],
)
def test_a_bad_cursor_or_page_size_is_refused(metered, query, code):
    response = metered.client.get(f"/api/v1/devices/{metered.device_id}/usage-gaps?{query}")
    assert (response.status_code, response.json()["code"]) == (400, code)


@pytest.mark.parametrize(("name", "least"), [("after", 0), ("page_size", 1)])
def test_the_schema_publishes_the_least_number_each_parameter_takes(metered, name, least):
    """Both were published as a bare integer, so a client could not know that after=-1 or
    page_size=0 is refused."""
    schema = Client().get("/api/v1/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/devices/{id}/usage-gaps"]["get"]
    (published,) = (p["schema"] for p in operation["parameters"] if p["name"] == name)
    assert published == {"type": "integer", "minimum": least}
    gaps = f"/api/v1/devices/{metered.device_id}/usage-gaps"
    assert metered.client.get(gaps, {name: least}).status_code == 200
    assert metered.client.get(gaps, {name: least - 1}).status_code == 400
