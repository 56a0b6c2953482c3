"""Finance closes a month from the Exports page in Chromium: the "has not ended yet: close it
anyway" box is there for the running month only. It was offered (and labelled so) for every
month, an ended one included."""

import pytest
from django.utils import timezone

from billing.periods import last_closed_month, month_label, month_start

pytestmark = [pytest.mark.browser]


def test_the_not_ended_box_shows_for_the_running_month_only(journey, staff_user):
    journey.sign_in(staff_user("finance"))
    page = journey.page
    now = timezone.now()
    ended, running = month_label(last_closed_month(now)), month_label(month_start(now))

    journey.goto(f"/admin/billing/finance/exports/?period={ended}")
    close = page.locator("#close-period")
    assert close.get_by_role("button", name="Close period now").is_visible()
    assert close.get_by_role("checkbox").count() == 0
    assert "has not ended" not in close.inner_text()

    page.get_by_label("Period (UTC month)").fill(running)
    journey.click(page.get_by_role("button", name="Show"))
    box = close.get_by_label(f"{running} has not ended yet: close it anyway", exact=False)
    assert box.is_visible() and not box.is_checked()
