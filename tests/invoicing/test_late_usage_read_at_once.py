"""Late usage of a month's running plans is read in the same few queries for two plans as for
twenty: the month close and the live upcoming invoice looked at each plan's earlier months
one query a plan (and one more for each month it had late usage in), before."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing import invoicing
from billing.models import Invoice, LineKind
from billing.periods import add_months, month_start
from tests.invoicing.conftest import FEB, JAN, MAR, Customer

pytestmark = pytest.mark.django_db


def _queries(run) -> int:
    with CaptureQueriesContext(connection) as ctx:
        run()
    return len(ctx)


def _running(customer, plans: int, since) -> list:
    """``plans`` metered plans valid from ``since``."""
    return [customer.metered(since=since) for _ in range(plans)]


def _ran(customer, plans: list, late_in, now_in) -> None:
    """Two hours of each plan in ``late_in`` (a month closed before they were reported: the
    next close bills them as late usage) and in ``now_in``."""
    for plan in plans:
        customer.ran(plan, late_in, 2)
        customer.ran(plan, now_in, 2)


def test_a_close_reads_as_much_for_twenty_running_plans_as_for_two(customer, broker_refuses):
    broker_refuses.everything = True
    customer.account()
    first = _running(customer, 2, since=JAN)
    invoicing.close_billing_period(JAN)
    _ran(customer, first, late_in=JAN, now_in=FEB)
    two = _queries(lambda: invoicing.close_billing_period(FEB))
    # Eighteen more, and all twenty with February hours reported after February closed.
    _ran(customer, _running(customer, 18, since=JAN), late_in=FEB, now_in=MAR)
    for plan in first:
        customer.ran(plan, FEB + timedelta(days=10), 1)
    twenty = _queries(lambda: invoicing.close_billing_period(MAR))

    february = Invoice.objects.get(tenant=customer.tenant, period_start=FEB)
    march = Invoice.objects.get(tenant=customer.tenant, period_start=MAR)
    assert february.lines.filter(kind=LineKind.LATE_USAGE).count() == 2
    assert march.lines.filter(kind=LineKind.LATE_USAGE, period_start=FEB).count() == 20
    assert twenty == two


def test_the_upcoming_invoice_reads_as_much_for_twenty_running_plans_as_for_two(
    clock, member_client, vendor_tenant
):
    client, membership = member_client("billing")
    customer = Customer(membership.tenant, vendor_tenant)
    start = month_start(timezone.now())
    last = add_months(start, -1)

    def upcoming_lines() -> tuple[int, list]:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/api/v1/invoices/upcoming")
        assert response.status_code == 200, response.content
        (invoice,) = response.json()["invoices"]
        return len(ctx), invoice["lines"]

    few = _running(customer, 2, since=last)
    invoicing.close_billing_period(last)  # the hourly close, before last month's hours came
    _ran(customer, few, late_in=last, now_in=start)
    two, few_lines = upcoming_lines()
    _ran(customer, _running(customer, 18, since=last), late_in=last, now_in=start)
    twenty, lines = upcoming_lines()

    assert [line["kind"] for line in few_lines].count(LineKind.LATE_USAGE) == 2
    assert [line["kind"] for line in lines].count(LineKind.LATE_USAGE) == 20
    assert twenty == two
