"""Finance refunds an order in Chromium; days later the card's bank refuses the refund and
Stripe says so by webhook. Finance finds it from the admin's home page, on *Money to give
back*: the order, the amount, the Stripe refund and what to do, and the event behind it;
once the transfer is sent, records it settled there. Before, such events were written only
to the audit log, which finance cannot read."""

import pytest
from rest_framework.test import APIClient

from billing.models import MoneyToGiveBack
from tests.browser.test_finance_refunds_in_the_browser import _choose, orders  # noqa: F401
from tests.commerce.conftest import (  # noqa: F401  (the fixtures)
    ORDERS_URL,
    agent,
    customer,
    event,
    localstripe,
    make_plan,
    published,
    signed_webhook,
    stripe_client,
    stripe_on,
)
from tests.dunning.test_card_refunds_failing_later import card_refund_fails

pytestmark = pytest.mark.browser

SETTLE = "Record settled (with the refund's or transfer's reference)"


def test_finance_finds_a_refund_that_failed_on_money_to_give_back(journey, staff_user, orders):  # noqa: F811
    journey.sign_in(staff_user("finance"))
    page = journey.page
    journey.goto(ORDERS_URL)
    _choose(journey, orders["usd"])
    journey.click(page.get_by_role("button", name="Confirm"))
    from marketplace.models import Order

    intent = Order.objects.get(pk=orders["usd"]).payment_intent_id
    (refund,) = stripe_client().v1.refunds.list(params={"payment_intent": intent}).data
    card_refund_fails(refund.id, "expired_or_canceled_card")
    told = signed_webhook(
        APIClient(), event("evt_browser_refund_failed", "refund.failed", {"id": refund.id})
    )
    assert told.status_code == 200, told.content

    journey.goto("/admin/")
    journey.click(page.get_by_role("link", name="Money to give back"))

    assert page.locator("#content h1").inner_text() == "Select money to give back to view"
    (row,) = page.locator("#result_list tbody tr").all()
    cells = row.locator("th, td:not(.action-checkbox)").all_inner_texts()
    assert cells[1:] == [
        "order refund failed",
        cells[2],
        f"order {orders['usd']}",
        "19.00 USD",
        refund.id,
        MoneyToGiveBack.TO_DO["order_refund_failed"],
        "-",
    ]
    journey.click(row.locator("th a"))
    details = page.locator(".field-details .readonly").inner_text()
    assert refund.id in details and "expired_or_canceled_card" in details

    # The transfer sent, finance records it settled from the list.
    page.go_back()
    page.locator('#result_list input[name="_selected_action"]').check()
    page.locator('select[name="action"]').select_option(label=SETTLE)
    journey.click(page.get_by_role("button", name="Go"))
    assert page.locator("#content h1").inner_text() == "Record money to give back as settled"
    assert f"order {orders['usd']} — 19.00 USD" in page.locator("#content li").inner_text()
    page.get_by_label("Reference").fill("SEPA back 5")
    journey.click(page.get_by_role("button", name="Record settled"))

    assert page.locator(".messagelist .success").all_inner_texts() == [
        f"Order {orders['usd']}: settled (SEPA back 5)."
    ]
    assert page.locator("#result_list tbody tr td.field-settled").inner_text() == "SEPA back 5"
    journey.click(page.locator("#changelist-filter").get_by_role("link", name="open"))
    assert page.locator("#result_list").count() == 0
