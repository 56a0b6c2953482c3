"""A month finance closed early (forced) is drafted with what it had sold by then. Its draft
is finalized only once a close that began after the month ended has drafted it again
(``ClosedMonth``): finalized before, what the month sold after the early close (the fee of a
plan bought later in it, a one-time order) was billed nowhere, since a finalized month is never
drafted again and later months' closes take only their own month's fees and orders. Two ways
it happened: beat back after an outage across the month's end runs the 15-minute
finalize-due-invoices before the hourly close; finance clicks "Finalize now" on the 1st before
the hourly close has run."""

from datetime import timedelta

import pytest

from billing import tasks
from billing.models import LineKind
from tests.invoicing.conftest import FEB, JAN

pytestmark = pytest.mark.django_db

URL = "/admin/billing/invoice/"


@pytest.fixture
def closed_early(customer, time_machine, broker_refuses):
    """January closed early (forced, the Celery task) on the 16th with one metered plan; later
    in January a second metered plan (its monthly fee 10.00) and a one-time order of 30.00."""
    broker_refuses.everything = True  # no emails or charges queued from here
    customer.account()
    customer.ran(customer.metered(since=JAN), JAN + timedelta(days=2), 1)
    time_machine.move_to(JAN + timedelta(days=15), tick=False)
    tasks.close_billing_month.apply(args=["2026-01"], kwargs={"force": True}).get()
    later = customer.metered(since=JAN + timedelta(days=20))
    customer.ran(later, JAN + timedelta(days=20), 2)
    customer.one_time(amount=3000, at=JAN + timedelta(days=21))
    return customer.tenant.invoices.get()


def _january_as_the_tenant_reads_it(customer, member_client):
    client, _ = member_client("billing", tenant=customer.tenant)
    listed = client.get("/api/v1/invoices?period=2026-01")
    assert listed.status_code == 200, listed.content
    (row,) = listed.json()["results"]
    return client.get(f"/api/v1/invoices/{row['id']}").json()


def _bills_all_january_sold(invoice):
    kinds = [(line["kind"], line["amount"]) for line in invoice["lines"]]
    assert [kind for kind, _ in kinds].count(LineKind.FLAT_FEE) == 2, kinds
    assert (LineKind.ONE_TIME_ORDER, 3000) in kinds, kinds


def test_beat_back_after_an_outage_finalizes_january_only_once_closed_again(
    closed_early, customer, member_client, time_machine
):
    # Beat down from 31 January to 5 February: back, the 15-minute job runs before the hourly.
    time_machine.move_to(FEB + timedelta(days=4), tick=False)
    run = tasks.finalize_due_invoices.apply().get()
    assert run == {"finalized": [], "refused": {str(closed_early.pk): "month_not_closed"}}
    assert _january_as_the_tenant_reads_it(customer, member_client)["status"] == "draft"

    tasks.close_previous_month.apply().get()
    tasks.finalize_due_invoices.apply().get()

    january = _january_as_the_tenant_reads_it(customer, member_client)
    assert january["status"] == "open" and january["number"]
    _bills_all_january_sold(january)


def test_finance_finalize_now_before_the_month_is_closed_again_is_refused_saying_why(
    closed_early, customer, member_client, admin_session, time_machine
):
    """00:10 on 1 February, before the hourly close has drafted January again."""
    time_machine.move_to(FEB + timedelta(minutes=10), tick=False)
    finance, _ = admin_session("finance")

    page = finance.get(f"{URL}{closed_early.pk}/change/").content.decode()
    assert 'id="finalize-form"' not in page  # said up front instead of a button
    assert "has not been closed since it ended" in page
    listed = finance.post(
        URL, {"action": "finalize_now", "_selected_action": [closed_early.pk]}
    ).content.decode()
    assert "has not been closed since it ended" in listed
    clicked = finance.post(f"{URL}{closed_early.pk}/finalize/", follow=True).content.decode()
    assert "has not been closed since it ended" in clicked
    assert "Close period now" in clicked
    assert _january_as_the_tenant_reads_it(customer, member_client)["number"] is None

    time_machine.move_to(FEB + timedelta(minutes=40), tick=False)
    tasks.close_previous_month.apply().get()  # the hourly close
    finance, _ = admin_session("finance")
    done = finance.post(f"{URL}{closed_early.pk}/finalize/", follow=True).content.decode()

    assert "Finalized as EP-2026-000001" in done
    _bills_all_january_sold(_january_as_the_tenant_reads_it(customer, member_client))
