"""The hourly close (beat's `close-billing-month`) catches up the months it missed. With beat
or the billing worker down for all of February, the close that comes back on 1 March used to
close February only: January was never drafted (its monthly fee and paid order on no invoice)
and its hours went on February's invoice as late usage, "reported after that month was
invoiced". Now every ended month not closed yet is closed, oldest first, as
``close_month --period`` closes it; only a month a close has drafted has late usage."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from billing import invoicing, tasks
from billing.models import Invoice, InvoiceStatus, LineKind
from edgeplug.audit.models import AuditEvent
from tests.invoicing.conftest import APR, FEB, JAN, MAR

pytestmark = pytest.mark.django_db


def lines(customer, month) -> list[tuple[str, int]]:
    invoice = Invoice.objects.get(tenant=customer.tenant, period_start=month)
    return list(invoice.lines.order_by("position").values_list("kind", "amount"))


@pytest.fixture
def missed_january(customer):
    """A customer's January and February (10.00 a month, 1.00 an hour): the close ran last
    on 1 January (December), then not again before 1 March."""
    customer.account()
    customer.plan = customer.metered()
    customer.ran(customer.plan, JAN + timedelta(days=5), 2)
    customer.ran(customer.plan, FEB + timedelta(days=5), 3)
    customer.one_time(amount=5000, at=JAN + timedelta(days=3))
    return customer


def test_a_month_the_hourly_close_missed_is_invoiced_when_it_runs_again(
    missed_january, time_machine
):
    time_machine.move_to(MAR + timedelta(hours=1))
    tasks.close_previous_month()

    assert lines(missed_january, JAN) == [
        (LineKind.FLAT_FEE, 1000),
        (LineKind.USAGE, 200),
        (LineKind.ONE_TIME_ORDER, 5000),
    ]
    # January's hours are January's usage, not late usage on February's invoice.
    assert lines(missed_january, FEB) == [(LineKind.FLAT_FEE, 1000), (LineKind.USAGE, 300)]


def test_the_missed_month_is_closed_once_and_audited_as_the_beat_job_closed_it(
    missed_january, time_machine, caplog
):
    time_machine.move_to(MAR + timedelta(hours=1))
    with caplog.at_level("WARNING", logger="billing.invoicing"):
        first = tasks.close_previous_month()
    # Told once, for the month that had something to bill, not for the empty months before
    # the first sale that the catch-up window also closes.
    warned = [r.getMessage() for r in caplog.records if "was never closed" in r.getMessage()]
    assert len(warned) == 1 and warned[0].startswith("month close: 2026-01 was never closed")
    time_machine.move_to(MAR + timedelta(hours=2))
    again = tasks.close_previous_month()

    assert (first["period"], first["created"]) == ("2026-02", 1)
    assert [(m["period"], m["created"]) for m in first["caught_up"]] == [("2026-01", 1)]
    assert (again["period"], again["unchanged"], again["caught_up"]) == ("2026-02", 1, [])
    assert Invoice.objects.count() == 2
    (closed,) = AuditEvent.objects.filter(action="billing_period_closed")
    assert closed.details["period"] == "2026-01" and closed.details["created"] == 1
    assert closed.details["via"] == "beat (a missed month)" and closed.details["forced"] is False


def test_several_missed_months_are_closed_oldest_first(customer, time_machine):
    plan = customer.metered()
    for month, hours in ((JAN, 1), (FEB, 2), (MAR, 3)):
        customer.ran(plan, month + timedelta(days=1), hours)
    time_machine.move_to(APR + timedelta(minutes=5))

    result = tasks.close_previous_month()

    assert [m["period"] for m in result["caught_up"]] + [result["period"]] == [
        "2026-01",
        "2026-02",
        "2026-03",
    ]
    for month, hours in ((JAN, 1), (FEB, 2), (MAR, 3)):
        assert lines(customer, month) == [(LineKind.FLAT_FEE, 1000), (LineKind.USAGE, hours * 100)]


def test_a_later_month_finance_closed_first_leaves_the_missed_months_hours_to_it(
    missed_january, time_machine
):
    time_machine.move_to(MAR + timedelta(hours=1))
    call_command("close_month", "--period", "2026-02", stdout=StringIO())
    # January was never closed: its hours are not late usage of February's.
    assert lines(missed_january, FEB) == [(LineKind.FLAT_FEE, 1000), (LineKind.USAGE, 300)]

    result = tasks.close_previous_month()

    assert [m["period"] for m in result["caught_up"]] == ["2026-01"]
    assert lines(missed_january, JAN)[1] == (LineKind.USAGE, 200)
    assert result["unchanged"] == 1  # February's draft as it was


def test_hours_reported_after_the_caught_up_close_are_late_usage_of_the_next_month(
    missed_january, time_machine
):
    time_machine.move_to(MAR + timedelta(hours=1))
    tasks.close_previous_month()
    missed_january.ran(missed_january.plan, JAN + timedelta(days=20), 1)
    time_machine.move_to(APR + timedelta(hours=1))
    tasks.close_previous_month()

    assert lines(missed_january, MAR)[-1] == (LineKind.LATE_USAGE, 100)


def test_a_month_missed_longer_ago_than_the_catch_up_reaches_is_left_to_finance(
    missed_january, time_machine, settings
):
    settings.BILLING_CLOSE_CATCH_UP_MONTHS = 3  # February, March and April
    time_machine.move_to(APR.replace(month=5) + timedelta(hours=1))

    result = tasks.close_previous_month()

    assert [m["period"] for m in result["caught_up"]] == ["2026-02", "2026-03"]
    assert not Invoice.objects.filter(period_start=JAN).exists()
    call_command("close_month", "--period", "2026-01", stdout=StringIO())
    assert lines(missed_january, JAN)[0] == (LineKind.FLAT_FEE, 1000)


def test_a_caught_up_month_waits_a_whole_grace_before_it_is_finalized(
    missed_january, time_machine, settings
):
    """January's grace (3 days after its end) was long over when the close caught it up: its
    draft was finalized and charged at the next 15-minute run, before finance could look at
    an invoice for a month nobody expected one for. Every draft the hourly close makes gets
    the whole grace from its drafting (``test_a_month_drafted_late_gets_a_whole_grace.py``)."""
    closed_at = MAR + timedelta(hours=1)
    time_machine.move_to(closed_at, tick=False)
    tasks.close_previous_month()
    time_machine.move_to(closed_at + timedelta(minutes=15))
    invoicing.finalize_due_invoices()

    grace = timedelta(days=settings.BILLING_GRACE_DAYS)
    january = Invoice.objects.get(period_start=JAN)
    february = Invoice.objects.get(period_start=FEB)
    assert (january.status, january.finalize_after) == (InvoiceStatus.DRAFT, closed_at + grace)
    assert february.finalize_after == closed_at + grace  # the same whole grace


def test_a_missed_month_that_cannot_be_closed_does_not_hold_back_the_month_just_ended(
    missed_january, time_machine, monkeypatch
):
    """Before: the catch-up closed January first and an error there (bad old data, a bug)
    ended the task, every hour, before February was drafted: nothing more was invoiced."""
    close = invoicing.close_billing_period

    def january_fails(period_start, **kwargs):
        if period_start == JAN:
            raise RuntimeError("January's data is broken")
        return close(period_start, **kwargs)

    monkeypatch.setattr(invoicing, "close_billing_period", january_fails)
    time_machine.move_to(MAR + timedelta(hours=1))

    with pytest.raises(RuntimeError, match="January's data is broken"):
        tasks.close_previous_month()

    assert lines(missed_january, FEB) == [(LineKind.FLAT_FEE, 1000), (LineKind.USAGE, 300)]
    assert not Invoice.objects.filter(period_start=JAN).exists()
