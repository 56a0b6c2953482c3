"""Finance opens the draft of the month still running in Chromium: its page says from when it
can be finalized, and offers no "Finalize now" (every click of it was refused with that)."""

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
