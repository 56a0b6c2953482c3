"""Hostile batches are refused whole with a code and a 4xx: nothing is half-written."""

import json
from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from billing.models import UsageEvent, UsageHour, UsageSeqRange
from edgeplug.core.exceptions import DEVICE_CREDENTIALS_DETAIL
from marketplace.models import Entitlement
from tests.metering.conftest import register_and_deploy

pytestmark = pytest.mark.django_db


def nothing_stored():
    return not (
        UsageEvent.objects.exists() or UsageHour.objects.exists() or UsageSeqRange.objects.exists()
    )


def refused(response, status, code):
    assert response.status_code == status, response.content
    assert response.json()["code"] == code, response.json()
    assert nothing_stored()


def test_a_wrong_or_missing_token_is_unauthenticated(metered):
    wrong = APIClient()
    wrong.credentials(HTTP_AUTHORIZATION="Device edp_000000000000_nope")
    event = metered.session(1, metered.base, 10)
    assert metered.send([event], api=wrong).status_code == 401
    assert metered.send([event], api=APIClient()).status_code == 401
    # A person's JWT is not a device token, and a device token is not a person's.
    persons = metered.send([event], api=metered.client)
    assert (persons.status_code, persons.json()["code"]) == (401, "not_authenticated")
    assert "A person's token is not accepted here" in persons.json()["detail"]
    assert "A person's token" in metered.client.get("/api/v1/device/assignments").json()["detail"]
    assert (
        APIClient().get("/api/v1/device/assignments").json()["detail"] == DEVICE_CREDENTIALS_DETAIL
    )
    basic = APIClient(HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz")
    assert "A person's token" not in basic.get("/api/v1/device/assignments").json()["detail"]
    person_only = metered.device_api.get("/api/v1/devices")
    assert (person_only.status_code, person_only.json()["code"]) == (401, "not_authenticated")
    assert "A device token is not accepted here" in person_only.json()["detail"]
    # NUL in the token (a 500 from the database before, behind a server letting it through).
    nul = APIClient()
    nul.credentials(HTTP_AUTHORIZATION="Device edp_ab\x00cd_xyz")
    answered = metered.send([event], api=nul)
    assert (answered.status_code, answered.json()["code"]) == (401, "authentication_failed")
    assert nul.get("/api/v1/device/assignments").status_code == 401
    assert nothing_stored()


def test_a_10000_event_batch_is_refused(metered):
    events = [metered.heartbeat(seq, metered.base) for seq in range(1, 10_001)]
    body = json.dumps({"events": events}).encode()
    if len(body) > 1024 * 1024:
        refused(metered.send(events), 413, "payload_too_large")
    # Compact events under the 1 MiB cap still exceed the 1,000-event limit.
    refused(metered.send([{"kind": 1}] * 10_000), 400, "batch_too_large")


def test_nul_bytes_are_refused(metered):
    event = metered.session(1, metered.base, 10)
    refused(
        metered.send([metered.session(2, metered.base, 5), {**event, "version": "1.0\x00"}]),
        400,
        "nul_character",
    )


@pytest.mark.parametrize(
    ("good", "bad"),
    [
        (b'"1.0.0"', b'"1.0.\xff"'),
        (b'{"events"', b'{"\xc3": 1, "events"'),
        (b'"session"', b'"sess\xff"'),
    ],
)
def test_bytes_that_are_not_utf8_are_refused(metered, good, bad):
    """One bad byte in a string (a version, a key, a kind), as firmware that does not check
    its buffer sends it: refused 400 ``malformed_json``, as the other endpoints refuse such a
    body (it was a 500, which a device retries forever)."""
    body = json.dumps({"events": [metered.session(1, metered.base, 10)]}).encode()
    assert good in body
    response = metered.device_api.generic(
        "POST", "/api/v1/usage/events", body.replace(good, bad, 1), content_type="application/json"
    )
    refused(response, 400, "malformed_json")


@pytest.mark.parametrize(
    "twice",
    [
        ('"seq": 1,', '"seq": 1, "seq": 7,'),
        ('"version": "1.0.0"', '"version": "9:9", "version": "1.0.0"'),
        ('{"events": [', '{"events": [], "events": ['),
        # As the compact bodies devices send, where the fast decoder reads a batch.
        ('"seq": 1,', '"seq":1,"seq":7,'),
    ],
)
def test_a_key_twice_in_one_object_is_refused(metered, twice):
    """Before: the batch was stored with the last of each (the compiled decoder's reading), so
    a device and the server could disagree about which event was sent."""
    body = json.dumps({"events": [metered.session(1, metered.base, 10)]})
    once, repeated = twice
    assert once in body
    response = metered.device_api.generic(
        "POST",
        "/api/v1/usage/events",
        body.replace(once, repeated, 1),
        content_type="application/json",
    )
    refused(response, 400, "duplicate_json_key")


@pytest.mark.parametrize("version", ["1.0\ud800", "\udfff"])
def test_a_lone_surrogate_is_refused(metered, version):
    """JSON can escape half of a UTF-16 pair; it is no character, and no text column takes it
    (json.dumps writes it as the escape a device would send)."""
    event = {**metered.session(1, metered.base, 10), "version": version}
    body = json.dumps({"events": [metered.session(2, metered.base, 5), event]})
    response = metered.device_api.generic(
        "POST", "/api/v1/usage/events", body, content_type="application/json"
    )
    refused(response, 400, "surrogate_character")


@pytest.mark.parametrize("field", ["seq", "agent", "inferences", "peak_arena_bytes"])
@pytest.mark.parametrize("value", [2**63, 10**400, -1])
def test_huge_or_negative_numbers_are_refused(metered, field, value):
    event = metered.session(1, metered.base, 10, inferences=1, peak_arena_bytes=1)
    body = json.dumps({"events": [metered.session(2, metered.base, 5), {**event, field: value}]})
    response = metered.device_api.generic(
        "POST", "/api/v1/usage/events", body, content_type="application/json"
    )
    refused(response, 400, "number_out_of_range")
    assert response.json()["index"] == 1 and response.json()["field"] == field


def test_an_event_ended_before_it_started_is_refused(metered):
    event = metered.session(1, metered.base, 10)
    event["ended_at"], event["started_at"] = event["started_at"], event["ended_at"]
    refused(metered.send([event]), 400, "ended_before_started")


@pytest.mark.parametrize(
    "change",
    [
        {"kind": "nap"},
        {"seq": "1"},
        {"seq": True},
        {"started_at": "yesterday"},
        {"started_at": "2026-11-01T10:00:00"},  # no offset
        {"started_at": "0001-01-01T00:00:00+01:00"},
        {"version": ""},
        {"version": "v" * 65},
        {"extra": 1},
        {"inferences": 1.5},
    ],
)
def test_malformed_events_refuse_the_whole_batch(metered, change):
    event = {**metered.session(2, metered.base, 10), **change}
    response = metered.send([metered.session(1, metered.base, 5), event])
    refused(response, 400, "invalid_event")
    assert response.json()["index"] == 1


@pytest.mark.parametrize("body", [[], {"events": {}}, {"events": [], "more": 1}, {"event": []}])
def test_a_body_that_is_not_a_batch_is_refused(metered, body):
    refused(
        metered.device_api.post("/api/v1/usage/events", body, format="json"), 400, "malformed_batch"
    )


def test_a_revoked_device_is_refused(metered):
    metered.client.post(f"/api/v1/devices/{metered.device_id}/revoke")
    assert metered.send([metered.heartbeat(1, metered.base)]).status_code == 401
    assert nothing_stored()


def test_one_device_cannot_report_for_another(metered, published):
    Entitlement.objects.update(seats=2)
    other, other_api = register_and_deploy(metered.client, published, hardware_id="hw-2")
    metered.send([metered.session(1, metered.base, 10)])
    metered.send([metered.session(1, metered.base + timedelta(hours=1), 10)], api=other_api)
    assert sorted(UsageEvent.objects.values_list("device_id", "seq")) == sorted(
        [(metered.device_id, 1), (other["device"]["id"], 1)]
    )


def test_an_inferences_event_without_its_count_is_refused(metered):
    """``inferences`` is what an inferences event counts: required, so not null either (a
    gRPC device cannot leave it out; the HTTP door answers the same)."""
    event = {**metered.session(2, metered.base, 10), "kind": "inferences", "inferences": None}
    response = metered.send([metered.session(1, metered.base, 5), event])
    refused(response, 400, "invalid_event")
    assert (response.json()["index"], response.json()["field"]) == (1, "inferences")
