"""Finance opens the draft of the month still running in Chromium: its page says from when it
can be finalized, and offers no "Finalize now" (every click of it was refused with that); the
list's "Finalize now" asks first, and says the same of it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from billing import invoicing
from billing.periods import month_start, next_month
from tests.invoicing.conftest import make_customer, vendor_tenant  # noqa: F401

pytestmark = [pytest.mark.browser]


def test_a_running_month_s_draft_says_when_it_can_be_finalized(
    journey,
    staff_user,
    make_customer,  # noqa: F811
):
    customer = make_customer()
    customer.account()
    customer.ran(customer.metered(), month_start(timezone.now()), 1)
    invoicing.close_period_now(month_start(timezone.now()), force=True)
    draft = customer.tenant.invoices.get()
    journey.sign_in(staff_user("finance"))
    page = journey.page

    journey.goto(f"/admin/billing/invoice/{draft.pk}/change/")

    assert page.get_by_role("button", name="Finalize now").count() == 0
    refusal = page.locator("#finalize-refusal")
    assert refusal.is_visible()
    ends = f"{next_month(timezone.now()):%Y-%m-%d} 00:00 UTC"
    assert refusal.inner_text().endswith(f"it can be finalized from {ends}.")
    assert page.get_by_role("button", name="Add line").is_visible()


def test_finalizing_from_the_list_asks_first_and_finalizes_what_it_may(
    journey,
    staff_user,
    make_customer,  # noqa: F811
):
    """The list's "Finalize now" sends invoices and charges cards: it lists the chosen drafts,
    the running month's with why it must wait, and finalizes on Confirm only (it finalized at
    once); Cancel finalizes nothing."""
    customer = make_customer()
    customer.account()
    hours = customer.metered()
    now = timezone.now()
    last_month = month_start(month_start(now) - timedelta(days=1))
    customer.ran(hours, last_month + timedelta(days=2), 3)
    customer.ran(hours, month_start(now), 1)
    invoicing.close_billing_period(last_month)
    invoicing.close_period_now(month_start(now), force=True)
    ended = customer.tenant.invoices.get(period_start=last_month)
    running = customer.tenant.invoices.get(period_start=month_start(now))
    journey.sign_in(staff_user("finance"))
    page = journey.page

    def choose_both():
        journey.goto("/admin/billing/invoice/")
        for invoice in (ended, running):
            page.locator(f'input[name="_selected_action"][value="{invoice.pk}"]').check()
        page.locator('select[name="action"]').select_option("finalize_now")
        journey.click(page.get_by_role("button", name="Go"))

    choose_both()
    rows = page.locator("#finalize-invoices tbody tr")
    assert rows.count() == 2
    assert rows.nth(0).locator(".finalize-outcome").inner_text() == "yes"
    assert "it can be finalized from" in rows.nth(1).locator(".finalize-outcome").inner_text()
    journey.click(page.get_by_role("link", name="Cancel"))
    ended.refresh_from_db()
    assert ended.status == "draft"

    choose_both()
    journey.click(page.get_by_role("button", name="Confirm: finalize 1 invoice"))
    ended.refresh_from_db()
    running.refresh_from_db()
    assert (ended.status, running.status) == ("open", "draft")
    assert f"Finalized as {ended.number}." in page.locator(".messagelist").inner_text()
    journey.check()
