"""manage.py recompute_invoice N rebuilds an invoice from its rollups and says what differs."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from billing import invoice_builder, invoicing
from billing.models import Invoice, UsageHour
from billing.periods import next_month
from marketplace.models import Entitlement
from tests.invoicing.conftest import JAN


@pytest.fixture
def issued(customer):
    customer.account()
    ent = customer.metered()
    customer.ran(ent, JAN, 4)
    (pk,) = invoicing.close_billing_period(JAN).created
    return customer, ent, invoicing.finalize_invoice(Invoice.objects.get(pk=pk))


def test_untouched_rollups_match(issued, capsys):
    _, _, invoice = issued
    call_command("recompute_invoice", invoice.number)
    assert f"{invoice.number}: matches its rollups (digest {invoice.rollup_digest})" in (
        capsys.readouterr().out
    )


def test_a_changed_rollup_is_reported_with_a_failing_exit(issued, capsys):
    customer, _, invoice = issued
    UsageHour.objects.filter(tenant=customer.tenant, hour=JAN).update(seconds=1800)
    with pytest.raises(CommandError, match="differs") as failed:
        call_command("recompute_invoice", str(invoice.pk))
    assert failed.value.returncode == 1
    out = capsys.readouterr().out
    assert "rollup digest" in out
    assert "stored 400 (14400 s), rebuilt 350 (12600 s)" in out


@pytest.mark.parametrize("named", ["EP-2026-999999", "999999", "\u00b2"])
def test_an_unknown_invoice_is_an_error(db, named):
    """A superscript two is a digit to str.isdigit but not to int(): it was a ValueError."""
    with pytest.raises(CommandError, match="No invoice") as failed:
        call_command("recompute_invoice", named)
    assert failed.value.returncode == 2


def test_a_rollup_moved_to_another_hour_changes_the_digest_though_the_total_does_not(
    issued, capsys
):
    customer, _, invoice = issued
    first = UsageHour.objects.filter(tenant=customer.tenant).order_by("hour").first()
    first.hour = first.hour + timedelta(hours=10)
    first.save()
    with pytest.raises(CommandError, match="differs"):
        call_command("recompute_invoice", invoice.number)
    assert "rollup digest" in capsys.readouterr().out


@pytest.mark.skipif(connection.vendor != "postgresql", reason="compares the SQL digest")
def test_the_database_digest_equals_the_python_one(customer):
    ent = customer.metered()
    customer.ran(ent, JAN, 30, seconds=1234)
    customer.ran(ent, JAN + timedelta(hours=5), 3, seconds=60, device=1)
    (window,) = invoice_builder._windows([ent])
    end = next_month(JAN)
    (in_sql,) = invoice_builder._rollup_totals([(customer.tenant.pk, window, JAN, end)])
    in_python = invoice_builder._rollup_total_in_python(customer.tenant.pk, window, JAN, end)
    assert in_sql == in_python
    assert in_sql[:2] == (30 * 1234 + 3 * 60, 33)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="compares the SQL digest")
def test_a_window_of_several_ranges_has_one_digest_in_sql_and_in_python(customer):
    """A later entitlement valid for a while cuts an earlier one's hours in two ranges."""
    ent = customer.metered()
    later = customer.metered(since=JAN + timedelta(hours=10), agent=ent.agent, key="later")
    Entitlement.objects.filter(pk=later.pk).update(valid_until=JAN + timedelta(hours=20))
    later.refresh_from_db()
    customer.ran(ent, JAN, 30, seconds=1234)
    window, _ = invoice_builder._windows([ent, later])
    assert len(window.ranges) == 2
    end = next_month(JAN)
    (in_sql,) = invoice_builder._rollup_totals([(customer.tenant.pk, window, JAN, end)])
    in_python = invoice_builder._rollup_total_in_python(customer.tenant.pk, window, JAN, end)
    assert in_sql == in_python
    assert in_sql[:2] == (20 * 1234, 20)
