"""Tenants never see each other's data: another tenant's object is a 404."""

import pytest

from edgeplug.audit.models import AuditEvent
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def test_members_list_shows_only_own_tenant(member_client):
    client, mine = member_client("admin")
    MembershipFactory()  # someone in another tenant
    emails = [m["email"] for m in client.get("/api/v1/tenant/members").json()["results"]]
    assert emails == [mine.user.email]


def test_other_tenants_membership_is_404_for_read_change_and_delete(member_client):
    client, _ = member_client("admin")
    theirs = MembershipFactory()
    url = f"/api/v1/tenant/members/{theirs.pk}"
    assert client.get(url).status_code == 404
    assert client.patch(url, {"role": "billing"}, format="json").status_code == 404
    assert client.delete(url).status_code == 404
    theirs.refresh_from_db()
    assert theirs.role == "admin"


def test_non_admin_member_is_forbidden_and_audited(member_client):
    client, membership = member_client("operator")
    response = client.get("/api/v1/tenant/members")
    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
    event = AuditEvent.objects.get(action="permission_denied")
    assert event.actor == membership.user
    assert event.tenant == membership.tenant
    assert "/api/v1/tenant/members" in event.target


def test_audit_events_are_scoped_to_tenant(member_client):
    client, _ = member_client("admin")
    _, other = member_client("admin")
    actions_seen = client.get("/api/v1/tenant/audit-events").json()["results"]
    assert actions_seen
    assert all(e["actor_email"] != other.user.email for e in actions_seen)


@pytest.mark.parametrize("parameter", ["since", "until"])
def test_a_time_out_of_range_names_the_parameter_sent(member_client, parameter):
    """Year 1 at +05:00 is before year 1 in UTC: refused naming ``since``, not the field it
    filters (``created_at``), which the caller never sent."""
    client, _ = member_client("admin")
    response = client.get("/api/v1/tenant/audit-events", {parameter: "0001-01-01T00:00:00+05:00"})
    assert (response.status_code, response.json()["code"]) == (400, "invalid")
    assert list(response.json()["errors"]) == [parameter]
    assert response.json()["detail"] == f"{parameter}: Date-time out of range."


@pytest.mark.parametrize(
    ("since", "until", "named"),
    [
        ("9999-12-31T23:00:00-05:00", "2026-01-01T00:00:00Z", "since"),  # in UTC: year 10000
        ("2026-01-01T00:00:00Z", "0001-01-01T00:00:00+05:00", "until"),  # in UTC: year 0
    ],
)
def test_since_after_until_out_of_range_is_refused_not_a_500(member_client, since, until, named):
    """Each alone was refused, but the two together, ``since`` after ``until``, were named in
    UTC for that refusal first, and the conversion overflowed: a 500."""
    client, _ = member_client("admin")
    response = client.get("/api/v1/tenant/audit-events", {"since": since, "until": until})
    assert (response.status_code, response.json()["code"]) == (400, "invalid")
    assert response.json()["detail"] == f"{named}: Date-time out of range."


@pytest.mark.parametrize("value", ["2026-01-01", "2026-01-01T00:00:00", "20260101", "2026-W01-1"])
@pytest.mark.parametrize("parameter", ["since", "until"])
def test_a_time_without_its_offset_is_refused_as_the_usage_door_refuses_it(
    member_client, parameter, value
):
    """The docs and the schema say an instant with its offset; a bare date or a naive time
    was taken (200), read in the server's time zone, where the usage door refuses it."""
    client, _ = member_client("admin")
    response = client.get("/api/v1/tenant/audit-events", {parameter: value})
    assert (response.status_code, response.json()["code"]) == (400, "invalid"), value
    assert list(response.json()["errors"]) == [parameter]
    assert response.json()["detail"] == (
        f"{parameter}: Enter an ISO 8601 instant with its UTC offset, e.g. 2026-01-01T00:00:00Z."
    )
    with_offset = client.get("/api/v1/tenant/audit-events", {parameter: "2026-01-01T00:00:00Z"})
    assert with_offset.status_code == 200


def test_since_after_until_is_refused_naming_both(member_client):
    """It was 200 with no rows, where the usage report refuses its from after its to."""
    client, _ = member_client("admin")
    response = client.get(
        "/api/v1/tenant/audit-events",
        {"since": "2030-01-01T00:00:00+01:00", "until": "2020-01-01T00:00:00Z"},
    )
    assert response.json() == {
        "code": "invalid_period",
        "detail": "since (2029-12-31T23:00:00Z) must not be after until (2020-01-01T00:00:00Z).",
        "field": "since",
    }
    assert response.status_code == 400
    # Equal is the empty period, as the usage report's from equal to its to.
    same = {"since": "2020-01-01T00:00:00Z", "until": "2020-01-01T00:00:00Z"}
    assert client.get("/api/v1/tenant/audit-events", same).json()["count"] == 0


@pytest.mark.parametrize("asked", ["login", "LOGIN", "Login"])
def test_the_action_filter_reads_any_case(member_client, asked):
    """?action=LOGIN found no event (200, empty) where ?action=login found the sign-in: every
    other text filter of the API reads any case. The actions are no closed set (each app
    names its own), so a name no event has is an empty page, not a 400."""
    client, _ = member_client("admin")  # its sign-in is a "login" event
    response = client.get("/api/v1/tenant/audit-events", {"action": asked})
    assert [e["action"] for e in response.json()["results"]] == ["login"]
    assert client.get("/api/v1/tenant/audit-events", {"action": "logn"}).json()["count"] == 0


def test_lists_are_paginated(member_client):
    client, membership = member_client("admin")
    for _ in range(3):
        MembershipFactory(tenant=membership.tenant, role="operator")
    page = client.get("/api/v1/tenant/members?page_size=2").json()
    assert page["count"] == 4
    assert len(page["results"]) == 2
    assert page["next"]


def test_filter_members_by_role(member_client):
    client, membership = member_client("admin")
    MembershipFactory(tenant=membership.tenant, role="operator")
    page = client.get("/api/v1/tenant/members?role=operator").json()
    assert [m["role"] for m in page["results"]] == ["operator"]
