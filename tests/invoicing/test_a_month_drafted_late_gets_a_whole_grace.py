"""Every draft the hourly close makes gets a whole ``BILLING_GRACE_DAYS`` from when it appears
before finalize-due-invoices numbers, emails and charges it, as a missed month caught up does
(``test_close_catches_up_missed_months.py``). The month that had just ended was given its
grace from the month's end instead: after a ten-day outage of beat (or the billing worker),
January was drafted on 10 February with its grace long over and charged at the next 15-minute
run, before finance could read it; and so was the new draft of a month whose invoice finance
voided."""

from datetime import timedelta

import pytest

from billing import tasks
from tests.invoicing.conftest import FEB, JAN

pytestmark = pytest.mark.django_db

URL = "/admin/billing/invoice/"


@pytest.fixture
def january(customer, broker_refuses):
    """A customer with a billing account and three agent-hours in January; no email or
    charge queued from here."""
    broker_refuses.everything = True
    customer.account()
    customer.ran(customer.metered(since=JAN), JAN + timedelta(days=2), 3)
    return customer


def _januarys(customer, member_client) -> list[dict]:
    """January's invoices as the tenant's billing member lists them."""
    client, _ = member_client("billing", tenant=customer.tenant)
    listed = client.get("/api/v1/invoices?period=2026-01")
    assert listed.status_code == 200, listed.content
    return sorted(listed.json()["results"], key=lambda row: row["id"])


def _iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_after_a_ten_day_outage_january_waits_a_whole_grace_from_its_drafting(
    january, member_client, time_machine, settings
):
    back = FEB + timedelta(days=9, hours=10)  # beat down from 31 January to 10 February
    time_machine.move_to(back, tick=False)
    tasks.close_previous_month.apply().get()
    time_machine.move_to(back + timedelta(minutes=15), tick=False)
    tasks.finalize_due_invoices.apply().get()

    grace = timedelta(days=settings.BILLING_GRACE_DAYS)
    (row,) = _januarys(january, member_client)
    assert (row["status"], row["number"]) == ("draft", None)
    assert row["finalize_after"] == _iso(back + grace)
    time_machine.move_to(back + grace, tick=False)
    tasks.finalize_due_invoices.apply().get()
    assert _januarys(january, member_client)[0]["status"] == "open"


def test_a_month_drafted_again_after_finance_voided_its_invoice_waits_a_whole_grace(
    january, member_client, admin_session, time_machine, settings
):
    time_machine.move_to(FEB + timedelta(minutes=5), tick=False)
    tasks.close_previous_month.apply().get()
    time_machine.move_to(FEB + timedelta(days=3, minutes=15), tick=False)
    tasks.finalize_due_invoices.apply().get()
    (first,) = _januarys(january, member_client)
    assert first["status"] == "open"

    voided_at = FEB + timedelta(days=9, hours=10)
    time_machine.move_to(voided_at, tick=False)
    finance, _ = admin_session("finance")
    page = finance.post(f"{URL}{first['id']}/void/", {"reason": "wrong hours"}, follow=True)
    assert f"{first['number']} voided." in page.content.decode()
    time_machine.move_to(voided_at + timedelta(minutes=30), tick=False)
    tasks.close_previous_month.apply().get()  # the hourly close drafts January again
    time_machine.move_to(voided_at + timedelta(minutes=45), tick=False)
    tasks.finalize_due_invoices.apply().get()

    grace = timedelta(days=settings.BILLING_GRACE_DAYS)
    void, again = _januarys(january, member_client)
    assert void["status"] == "void"
    assert (again["status"], again["number"]) == ("draft", None)
    assert again["finalize_after"] == _iso(voided_at + timedelta(minutes=30) + grace)
