"""Per-event refusals, each with its code, while the rest of the batch is accepted."""

from datetime import timedelta

import pytest

from billing.models import UsageEvent, UsageHour
from marketplace.models import Deployment, Entitlement
from tests.factories import EntitlementFactory, OrderFactory

pytestmark = pytest.mark.django_db


def outcomes(response) -> dict:
    assert response.status_code == 200, response.json()
    return {r["seq"]: (r["outcome"], r.get("code")) for r in response.json()["results"]}


def test_too_late_and_in_future_events_are_refused_and_the_rest_accepted(metered, settings):
    late = metered.now - timedelta(days=settings.USAGE_LATE_DAYS, minutes=1)
    response = metered.send(
        [
            metered.session(1, late, 10),
            metered.session(2, metered.base, 10),
            metered.heartbeat(3, metered.now + timedelta(minutes=6)),
            metered.heartbeat(4, metered.now + timedelta(minutes=4)),
        ]
    )
    assert outcomes(response) == {
        1: ("rejected", "too_late"),
        2: ("accepted", None),
        3: ("rejected", "in_future"),
        4: ("accepted", None),
    }
    assert response.json()["totals"] == {"accepted": 2, "duplicate": 0, "rejected": 2}
    assert sorted(UsageEvent.objects.values_list("seq", flat=True)) == [2, 4]


def test_late_days_come_from_settings(metered, settings):
    settings.USAGE_LATE_DAYS = 2
    response = metered.send([metered.session(1, metered.now - timedelta(days=3), 10)])
    assert outcomes(response) == {1: ("rejected", "too_late")}


def test_a_version_not_deployed_on_the_device_is_not_entitled(metered):
    event = metered.session(1, metered.base, 10)
    response = metered.send(
        [{**event, "version": "9.9.9"}, {**event, "seq": 2, "agent": metered.agent_id + 1000}]
    )
    assert outcomes(response) == {1: ("rejected", "not_entitled"), 2: ("rejected", "not_entitled")}
    assert not UsageEvent.objects.exists()


def test_an_inactive_entitlement_is_not_entitled_and_a_resend_after_reactivation_counts(metered):
    Entitlement.objects.update(status="suspended")
    event = metered.session(1, metered.base, 10)
    assert outcomes(metered.send([event])) == {1: ("rejected", "not_entitled")}
    Entitlement.objects.update(status="active")
    assert outcomes(metered.send([event])) == {1: ("accepted", None)}
    assert UsageHour.objects.get().seconds == 600


def test_a_seq_resent_with_other_content_is_a_conflict_and_the_first_is_kept(metered):
    first = metered.session(1, metered.base, 10)
    other = metered.session(1, metered.base, 50)
    assert outcomes(metered.send([first])) == {1: ("accepted", None)}
    assert outcomes(metered.send([other, metered.session(2, metered.base, 5)])) == {
        1: ("rejected", "seq_conflict"),
        2: ("accepted", None),
    }
    stored = UsageEvent.objects.get(seq=1)
    assert stored.ended_at - stored.started_at == timedelta(minutes=10)
    assert UsageHour.objects.get().seconds == 600


def test_a_seq_repeated_inside_one_batch_keeps_the_first(metered):
    response = metered.send(
        [
            metered.session(1, metered.base, 10),
            metered.session(1, metered.base, 10),
            metered.session(1, metered.base, 20),
        ]
    )
    assert [(r["outcome"], r.get("code")) for r in response.json()["results"]] == [
        ("accepted", None),
        ("duplicate", None),
        ("rejected", "seq_conflict"),
    ]
    assert UsageHour.objects.get().seconds == 600


def test_a_resend_of_a_stored_event_stays_duplicate_after_it_grows_too_old(metered, time_machine):
    event = metered.session(1, metered.base, 10)
    metered.send([event])
    time_machine.move_to(metered.now + timedelta(days=40), tick=False)
    # The device token still works; the clock says the event is now too old to take.
    assert outcomes(metered.send([event])) == {1: ("duplicate", None)}


def test_a_device_reports_usage_of_what_its_assignments_name(metered):
    """A device knows only its assignments: an entry's `agent_id` and `version` are what a
    usage event names (its `agent` is the name, which the ingest refuses as not an id)."""
    (entry,) = metered.device_api.get("/api/v1/device/assignments").json()["run"]
    event = {
        "seq": 1,
        "kind": "heartbeat",
        "agent": entry["agent_id"],
        "version": entry["version"],
        "at": metered.now.isoformat(),
    }

    answer = metered.send([event]).json()

    assert answer["results"] == [{"seq": 1, "outcome": "accepted"}]
    by_name = metered.send([{**event, "seq": 2, "agent": entry["agent"]}])
    assert (by_name.status_code, by_name.json()["field"]) == (400, "agent")


def test_usage_from_before_any_entitlement_of_the_agent_is_not_entitled(metered):
    """No entitlement of the agent covered that time (it was bought later, or an earlier one
    had ended): not entitled, as no invoice would bill it; the hours an entitlement covers
    (whole hours: from the hour it began) are accepted, an earlier one's included."""
    bought = metered.base + timedelta(hours=5, minutes=30)
    Entitlement.objects.update(valid_from=bought)
    held = Entitlement.objects.get()
    EntitlementFactory(
        order=OrderFactory(tenant=held.tenant, plan=held.plan),
        valid_from=metered.base - timedelta(hours=3),
        valid_until=metered.base - timedelta(hours=1, minutes=30),
        status="expired",
    )
    response = metered.send(
        [
            metered.session(1, metered.base - timedelta(hours=3), 10),  # the earlier one's
            metered.session(2, metered.base - timedelta(minutes=50), 10),  # between the two
            metered.session(3, metered.base + timedelta(hours=5), 10),  # the hour it began
            metered.heartbeat(4, metered.base + timedelta(hours=4, minutes=59)),  # before
        ]
    )
    assert outcomes(response) == {
        1: ("accepted", None),
        2: ("rejected", "not_entitled"),
        3: ("accepted", None),
        4: ("rejected", "not_entitled"),
    }


def test_usage_between_an_ended_entitlement_and_the_next_is_not_entitled(metered):
    """The device was deployed under an entitlement that ended, and kept its deployment
    until another was bought: the time between the two is covered by none, however long
    ago the deployment was made."""
    Deployment.objects.update(created_at=metered.base - timedelta(hours=5))
    held = Entitlement.objects.get()
    Entitlement.objects.update(valid_until=metered.base + timedelta(hours=1), status="expired")
    EntitlementFactory(
        order=OrderFactory(tenant=held.tenant, plan=held.plan),
        valid_from=metered.base + timedelta(hours=3, minutes=20),
    )
    response = metered.send(
        [
            metered.session(1, metered.base + timedelta(minutes=30), 10),  # the first's
            metered.heartbeat(2, metered.base + timedelta(hours=2)),  # between the two
            metered.session(3, metered.base + timedelta(hours=3), 10),  # the hour it began
            metered.heartbeat(4, metered.now),
        ]
    )
    assert outcomes(response) == {
        1: ("accepted", None),
        2: ("rejected", "not_entitled"),
        3: ("accepted", None),
        4: ("accepted", None),
    }
