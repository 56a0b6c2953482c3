"""A second click on an action's button while its page is still loading (a busy server, a
double-click out of habit) does not act twice: the form is sent once, and the page that
comes back says what the first did. Sent again all the same (the page restored from the
browser's history), the adjustment's one-time token adds nothing the second time."""

import re
import time

import pytest

from billing import invoicing
from billing.models import Invoice, LineKind
from tests.invoicing.conftest import JAN, make_customer, vendor_tenant  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_second_click_on_add_line_adds_no_second_line(
    journey,
    staff_user,
    make_customer,  # noqa: F811
    monkeypatch,
):
    customer = make_customer()
    customer.account()
    customer.ran(customer.metered(), JAN, 2)
    (draft_id,) = invoicing.close_billing_period(JAN).created
    adding = invoicing.add_adjustment_line

    def slowly(*args, **kwargs):  # a busy server: the page is still loading at the 2nd click
        time.sleep(1)
        return adding(*args, **kwargs)

    monkeypatch.setattr(invoicing, "add_adjustment_line", slowly)

    journey.sign_in(staff_user("finance"))
    page = journey.page
    journey.goto(f"/admin/billing/invoice/{draft_id}/change/")
    adjust = page.locator("#adjust-form")
    adjust.get_by_label("Description:").fill("Workshop")
    adjust.get_by_label(re.compile(r"^Amount \(EUR")).fill("5.00")
    button = adjust.get_by_role("button", name="Add line")
    # What the form sends, its one-time token too: the page restored later sends it again.
    sent = adjust.evaluate("form => Object.fromEntries(new FormData(form))")
    action = adjust.evaluate("form => form.action")
    assert page.locator(".messagelist").count() == 0
    button.evaluate("b => { b.click(); setTimeout(() => b.click(), 300); }")
    # The page that comes back: after the last form sent, whichever that was.
    page.locator(".messagelist").wait_for()
    page.wait_for_load_state()
    journey.check()

    draft = Invoice.objects.get(pk=draft_id)
    assert draft.lines.filter(kind=LineKind.ADJUSTMENT).count() == 1
    assert "Adjustment of 5.00 EUR added" in page.locator(".messagelist").inner_text()

    # The page's script lets a page restored from the history send its form once more.
    again = page.request.post(action, form=sent)
    assert again.ok
    assert "This adjustment was already added (Workshop, 5.00 EUR)" in again.text()
    assert draft.lines.filter(kind=LineKind.ADJUSTMENT).count() == 1
