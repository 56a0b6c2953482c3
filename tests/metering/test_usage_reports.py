"""Tenants read agent-hours grouped by agent, device, day or hour (JSON or CSV); vendors read
their agents' hours per customer tenant and day; nobody sees another tenant's usage."""

import csv
import io
from datetime import timedelta

import pytest

from billing.periods import month_start, next_month
from marketplace.models import Device

pytestmark = pytest.mark.django_db


def period(metered) -> str:
    day = metered.base.date()
    return f"from={day}&to={day + timedelta(days=2)}"


@pytest.fixture
def usage(metered):
    base = metered.base
    metered.send(
        [
            metered.session(1, base, 90),  # 60 min in the first hour, 30 in the next
            metered.session(2, base + timedelta(minutes=30), 30),  # overlaps: counts once
            metered.session(3, base + timedelta(hours=5), 15),
            metered.heartbeat(4, base),
        ]
    )
    return metered


def test_tenant_sees_agent_hours_per_agent(usage):
    body = usage.client.get(f"/api/v1/usage?{period(usage)}&group_by=agent").json()
    assert body["group_by"] == ["agent"]
    [row] = body["rows"]
    assert row["agent"] == usage.agent_id and row["agent_name"] == "pump-anomaly"
    assert (row["seconds"], row["agent_hours"]) == (105 * 60, "1.750000")


def test_tenant_sees_agent_hours_per_agent_and_hour(usage):
    body = usage.client.get(f"/api/v1/usage?{period(usage)}&group_by=hour,agent").json()
    assert body["group_by"] == ["agent", "hour"]
    hours = [(row["hour"], row["seconds"]) for row in body["rows"]]
    start = usage.base
    assert hours == [
        (start.isoformat().replace("+00:00", "Z"), 3600),
        ((start + timedelta(hours=1)).isoformat().replace("+00:00", "Z"), 1800),
        ((start + timedelta(hours=5)).isoformat().replace("+00:00", "Z"), 900),
    ]


def test_usage_per_day_and_device(usage):
    body = usage.client.get(f"/api/v1/usage?{period(usage)}&group_by=day,device").json()
    days = {row["day"]: row["seconds"] for row in body["rows"]}
    assert sum(days.values()) == 105 * 60
    assert {row["device"] for row in body["rows"]} == {usage.device_id}


def test_usage_as_csv(usage):
    Device.objects.filter(pk=usage.device_id).update(name="=HYPERLINK(evil)")
    response = usage.client.get(
        f"/api/v1/usage?{period(usage)}&group_by=device", HTTP_ACCEPT="text/csv"
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [
        ["device", "device_name", "seconds", "agent_hours"],
        [str(usage.device_id), "'=HYPERLINK(evil)", "6300", "1.750000"],
    ]


@pytest.mark.parametrize(
    "accept, answered",
    [
        # The client's preference (q) decides, then the more specific range; not the order
        # of specificity alone (before: text/csv, more specific than */*, won over q=0.1).
        ("text/csv;q=0.1, */*", "application/json"),
        ("application/json;q=0.5, text/csv", "text/csv"),
        ("text/csv;q=0.5, application/json;q=0.9", "application/json"),
        # q=0 is "not acceptable" (RFC 9110, 12.4.2): never the answer, even where a wider
        # range accepts it (before: text/csv;q=0 was answered CSV).
        ("text/csv;q=0, */*", "application/json"),
        ("*/*, application/json;q=0", "text/csv"),
        ("text/csv;q=0", None),
        ("text/*;q=0, application/json;q=0", None),
        # Equal preference: the API's own order, JSON first.
        ("text/csv, application/json", "application/json"),
        ("*/*", "application/json"),
        # A q that is no number, or out of 0..1, is read as 1 (as Django's MediaType does).
        ("text/csv;q=abc, application/json;q=0.5", "text/csv"),
    ],
)
def test_the_accept_header_s_preferences_decide_the_answer_s_type(usage, accept, answered):
    response = usage.client.get(f"/api/v1/usage?{period(usage)}", HTTP_ACCEPT=accept)
    if answered is None:
        assert (response.status_code, response.json()["code"]) == (406, "not_acceptable")
    else:
        assert response.status_code == 200, response.content[:200]
        assert response["Content-Type"].split(";")[0] == answered


@pytest.mark.parametrize("report", ["/api/v1/usage", "/api/v1/vendor/usage"])
def test_a_refused_csv_report_answers_json_as_every_api_error(usage, report):
    """As the payout statement's CSV does (before: a code,detail CSV here, JSON there)."""
    response = usage.client.get(f"{report}?from=yesterday", HTTP_ACCEPT="text/csv")
    assert response.status_code in (400, 403)
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) >= {"code", "detail"}


@pytest.mark.parametrize(
    "query,code",
    [
        ("group_by=weekday", "invalid_group_by"),
        # Outside the pattern the schema publishes: a name padded, or an empty one.
        ("group_by=agent,", "invalid_group_by"),
        ("group_by=%20agent", "invalid_group_by"),
        ("group_by=agent,,device", "invalid_group_by"),
        ("group_by=agent,%20device", "invalid_group_by"),
        ("group_by=", "invalid_group_by"),
        ("from=yesterday", "invalid_period"),
        ("to=2026-13-01", "invalid_period"),
        ("to=", "invalid_period"),
        # Python reads these as dates; the schema publishes YYYY-MM-DD only.
        ("from=20260101", "invalid_period"),
        ("from=2026-W01-1", "invalid_period"),
        ("to=2026-1-01", "invalid_period"),
        ("to=0001-01-01", "invalid_period"),
    ],
)
def test_bad_queries_are_refused_with_a_code(usage, query, code):
    """And name the parameter (``field``), as ``from`` after ``to`` does; they did not."""
    response = usage.client.get(f"/api/v1/usage?{query}")
    assert (response.status_code, response.json()["code"]) == (400, code)
    assert response.json()["field"] == query.split("=")[0]


def test_to_alone_reads_the_month_it_closes(usage):
    """It read from the first of the current month whatever ``to`` said: ``?to=2024-02-01``
    was the empty period from 2026-12-01."""
    month = month_start(usage.base)
    closing = next_month(month).date()
    rows = usage.client.get(f"/api/v1/usage?to={closing}").json()["rows"]
    assert (
        rows == usage.client.get(f"/api/v1/usage?from={month.date()}&to={closing}").json()["rows"]
    )
    assert rows  # the fixture's sessions start the day before now, in ``month``
    # A later month holds none of them.
    later = next_month(next_month(next_month(month))).date()
    assert usage.client.get(f"/api/v1/usage?to={later}").json()["rows"] == []


def test_an_empty_period_has_no_rows(usage):
    day = usage.base.date()
    assert usage.client.get(f"/api/v1/usage?from={day}&to={day}").json()["rows"] == []


def test_a_reversed_period_is_refused_naming_both_days(usage):
    """It answered 200 with no rows: a client could not tell no usage from swapped dates.
    Payouts refuse theirs alike."""
    day = usage.base.date()
    after = day + timedelta(days=1)
    response = usage.client.get(f"/api/v1/usage?from={after}&to={day}")
    assert (response.status_code, response.json()["code"]) == (400, "invalid_period")
    assert response.json()["field"] == "from"
    assert response.json()["detail"] == f"from ({after}) must not be after to ({day})."
    # ``from`` alone is read up to the first of next month, which the refusal says.
    later = next_month(next_month(month_start(usage.base))).date()
    alone = usage.client.get(f"/api/v1/usage?from={later}")
    assert alone.json()["detail"].endswith(", the first of next month, when not given).")


def test_another_tenant_sees_none_of_it(usage, member_client):
    stranger, _ = member_client("admin")
    assert stranger.get(f"/api/v1/usage?{period(usage)}").json()["rows"] == []


def test_vendor_sees_its_agents_usage_per_customer_and_day(usage, vendor, make_vendor):
    tenant = Device.objects.get(pk=usage.device_id).tenant
    body = vendor.client.get(f"/api/v1/vendor/usage?{period(usage)}").json()
    assert body["group_by"] == ["agent", "tenant", "day"]
    assert {row["tenant"] for row in body["rows"]} == {tenant.slug}
    assert sum(row["seconds"] for row in body["rows"]) == 105 * 60
    other_vendor = make_vendor(slug="other-vendor")
    assert other_vendor.client.get(f"/api/v1/vendor/usage?{period(usage)}").json()["rows"] == []
    # A customer is not a vendor.
    assert usage.client.get("/api/v1/vendor/usage").status_code == 403


def test_a_report_beyond_the_row_cap_is_refused_with_what_to_ask_instead(usage, settings):
    """Rows are capped (USAGE_REPORT_MAX_ROWS): any period was answered whole in one
    response, e.g. years by hour and device. At the cap the report answers; one more, 400."""
    settings.USAGE_REPORT_MAX_ROWS = 3  # the fixture's hours: three
    hourly = f"/api/v1/usage?{period(usage)}&group_by=hour"
    assert len(usage.client.get(hourly).json()["rows"]) == 3
    settings.USAGE_REPORT_MAX_ROWS = 2

    refused = usage.client.get(hourly)

    assert (refused.status_code, refused.json()["code"]) == (400, "report_too_large")
    assert "shorter period" in refused.json()["detail"]
    assert usage.client.get(f"/api/v1/usage?{period(usage)}&group_by=agent").status_code == 200


def test_options_on_a_report_asked_as_csv_describes_it_in_json(usage):
    """Before: a 500 (the CSV renderer was given the view's description, not rows)."""
    described = usage.client.options("/api/v1/usage", HTTP_ACCEPT="text/csv")
    assert (described.status_code, described["Content-Type"]) == (200, "application/json")
