"""In the last minutes of a month a device may report a session that ends a few minutes ahead
of the clock (ingest allows ``USAGE_FUTURE_SKEW_S``), so the next month already holds usage:
the sales page, its CSV and the vendor usage API count this month's share of it, and the rest
once the next month has begun."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import UsageHour
from billing.periods import month_label, month_start, next_month
from certification.certificates.platform_keys import keyring
from marketplace.models import Agent

pytestmark = pytest.mark.django_db


@pytest.fixture
def month_end(time_machine):
    """23:58 UTC on the last day of this month, the clock stopped (the clock ``metered`` then
    stops where it is). The platform key is made first, at the real time, as a running
    server's is: made under the moved clock, it would not yet be valid for the tests after."""
    keyring()
    time_machine.move_to(next_month(timezone.now()) - timedelta(minutes=2), tick=False)
    return timezone.now()


@pytest.fixture
def session_into_next_month(month_end, metered):
    """A session from 23:40 to 00:02: 20 minutes this month, 2 the next."""
    sent = metered.send([metered.session(1, month_end - timedelta(minutes=18), 22)])
    assert sent.status_code == 200, sent.json()
    assert sent.json()["results"][0]["outcome"] == "accepted", sent.json()
    assert UsageHour.objects.filter(hour__gte=next_month(month_end)).exists()
    return Agent.objects.get(pk=metered.agent_id).tenant


def _csv_rows(response) -> list[dict]:
    return list(
        csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")))
    )


@pytest.mark.parametrize("role", ["admin", "billing"])
def test_the_sales_page_shows_this_months_share_of_a_session_ending_next_month(
    portal_vendor, month_end, session_into_next_month, role
):
    vendor = portal_vendor(role=role, tenant=session_into_next_month)
    page = vendor.client.get("/portal/sales/")
    assert page.status_code == 200
    this_month = month_label(month_end)
    assert page.context["chart"]["labels"][-1] == this_month
    assert [(month_label(r["month"]), str(r["agent_hours"])) for r in page.context["table"]] == [
        (this_month, "0.333333")
    ]
    rows = _csv_rows(vendor.client.get("/portal/sales.csv"))
    assert [(r["month"], r["agent_hours"]) for r in rows] == [(this_month, "0.333333")]


def test_the_sales_csv_and_the_usage_api_count_the_same_hours_this_month(
    portal_vendor, member_client, month_end, session_into_next_month
):
    vendor = portal_vendor(role="admin", tenant=session_into_next_month)
    api, _ = member_client("developer", tenant=session_into_next_month)
    usage = api.get("/api/v1/vendor/usage")
    assert usage.status_code == 200, usage.json()
    assert [row["agent_hours"] for row in usage.json()["rows"]] == ["0.333333"]
    (row,) = _csv_rows(vendor.client.get("/portal/sales.csv?months=1"))
    assert row["agent_hours"] == "0.333333"


def test_the_rest_of_the_session_shows_once_the_next_month_has_begun(
    portal_vendor, time_machine, month_end, session_into_next_month
):
    vendor = portal_vendor(role="billing", tenant=session_into_next_month)
    time_machine.move_to(month_end + timedelta(minutes=5), tick=False)
    page = vendor.client.get("/portal/sales/")
    assert page.status_code == 200
    assert [(r["month"], str(r["agent_hours"])) for r in page.context["table"]] == [
        (next_month(month_end).date(), "0.033333"),
        (month_start(month_end).date(), "0.333333"),
    ]
