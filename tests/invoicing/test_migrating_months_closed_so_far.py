"""Billing 0024 records the months closed so far (``ClosedMonth``): every ended month with an
invoice, as of when its first invoice was drafted. Without them, the first hourly close after
the upgrade would take every such month for one it missed, and no late usage of them would be
billed."""

import pytest
from django.utils import timezone

from billing import invoicing
from billing.models import ClosedMonth, Invoice
from billing.periods import month_start
from tests.invoicing.conftest import FEB, JAN
from tests.migrations import migrated_back

pytestmark = pytest.mark.django_db(transaction=True)  # migrating (SQLite) needs no atomic


def test_the_months_invoiced_before_the_upgrade_are_recorded_closed(customer):
    plan = customer.metered()
    for month in (JAN, FEB):
        customer.ran(plan, month, 2)
        invoicing.close_billing_period(month)
    this_month = month_start(timezone.now())
    invoicing.close_period_now(this_month, force=True)  # not ended: not closed yet
    first_drafted = Invoice.objects.get(period_start=JAN).created_at

    with migrated_back("billing", "0023_invoice_email_domains_each_once"):
        pass  # and forward again

    closed = ClosedMonth.objects.values_list("period_start", "closed_at")
    assert list(closed)[:1] == [(JAN, first_drafted)]
    assert [month for month, _ in closed] == [JAN, FEB]
    assert Invoice.objects.filter(period_start=this_month).exists()
