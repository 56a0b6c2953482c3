"""Finance refunds in full, in Chromium, two completed orders, one whose payment is under an
open chargeback (Stripe's signed ``charge.dispute.created``, ``needs_response``): the
confirmation page marks that one not refundable and why, and leaves it out of what is given
back; Confirm refunds the other alone and the disputed one stays as it was. Once the dispute
is closed (won), the same order is refunded from the same list. And one support already gave
back in part in Stripe's dashboard: the page says what Confirm gives back, the rest."""

import pytest

from marketplace.models import Order
from tests.browser.test_finance_refunds_in_the_browser import (  # noqa: F401  (the fixtures)
    _choose,
    _statuses,
    agent,
    customer,
    localstripe,
    make_plan,
    orders,
    published,
    stripe_on,
)
from tests.commerce.conftest import ORDERS_URL
from tests.commerce.test_order_disputes import disputed
from tests.commerce.test_order_refunded_in_part_in_stripe import (
    refunded_in_dashboard,
    refunded_of,
)

pytestmark = pytest.mark.browser

UNDER_DISPUTE = "no: Its payment is under dispute (dp_order)"


def _rows(page) -> dict[int, list[str]]:
    """The confirmation page's orders: id -> the cells from the amount on."""
    return {
        int(row.get_attribute("data-order")): row.locator("td").all_inner_texts()[3:]
        for row in page.locator("tr.refund-row").all()
    }


def _listed(page, *order_ids) -> list[str]:
    """The orders' statuses as the orders list shows them."""
    return [
        page.locator(f'#result_list tr:has(input[value="{pk}"]) td.field-status').inner_text()
        for pk in order_ids
    ]


def _confirm(journey) -> list[str]:
    """Confirm on the confirmation page: the messages the orders list then shows."""
    page = journey.page
    journey.click(page.get_by_role("button", name="Confirm"))
    assert page.url == journey.base_url + ORDERS_URL
    return page.locator(".messagelist li").all_inner_texts()


def test_an_order_under_dispute_is_left_out_of_a_refund_until_its_dispute_is_won(
    journey,
    staff_user,
    orders,  # noqa: F811
    api,
):
    usd, eur = orders["usd"], orders["eur"]
    chargeback = Order.objects.get(pk=usd)
    opened = ("charge.dispute.created", "needs_response", 1900)
    assert disputed(api, chargeback, "evt_open", *opened) == "completed"
    journey.sign_in(staff_user("finance"))
    page = journey.page
    journey.goto(ORDERS_URL)
    _choose(journey, usd, eur)

    assert page.locator("#content h1").inner_text() == "Refund orders in full"
    rows = _rows(page)
    assert set(rows) == {usd, eur}
    assert rows[eur] == ["25.00 EUR", "none", "yes"]
    amount, note, refundable = rows[usd]
    assert (amount, note) == ("19.00 USD", "")
    assert refundable.startswith(f"{UNDER_DISPUTE}: Stripe refunds no disputed charge."), refundable
    assert page.locator("#refund-totals li").all_inner_texts() == ["25.00 EUR"]
    confirm = page.get_by_role("button", name="Confirm")
    assert confirm.get_attribute("value") == "Confirm: refund 1 order"
    assert journey.problems() == []  # no template variable left unresolved, among others

    said = _confirm(journey)

    assert said == [f"Order {eur} refunded."]
    assert page.locator(".messagelist .success").all_inner_texts() == said
    after = _statuses([usd, eur])
    assert after == {usd: ("completed", "active"), eur: ("refunded", "revoked")}
    assert _listed(page, usd, eur) == ["Completed", "Refunded"]
    assert refunded_of(chargeback) == 0  # Stripe was asked nothing for it

    won = ("charge.dispute.closed", "won", 1900)
    assert disputed(api, chargeback, "evt_won", *won) == "completed"
    _choose(journey, usd)

    assert _rows(page) == {usd: ["19.00 USD", "none", "yes"]}
    assert page.locator("#refund-totals li").all_inner_texts() == ["19.00 USD"]
    assert journey.problems() == []
    assert _confirm(journey) == [f"Order {usd} refunded."]
    assert _statuses([usd])[usd] == ("refunded", "revoked")
    assert _listed(page, usd) == ["Refunded"]
    assert refunded_of(chargeback) == 1900


def test_the_confirmation_says_only_the_rest_of_an_order_given_back_in_part(
    journey,
    staff_user,
    orders,  # noqa: F811
    api,
):
    """6.00 of 19.00 USD given back in the dashboard (``charge.refunded``): the row and the
    totals say 13.00, what Confirm gives back; before, they said the whole price."""
    usd, eur = orders["usd"], orders["eur"]
    part = Order.objects.get(pk=usd)
    refunded_in_dashboard(api, part, 600, "evt_part")
    journey.sign_in(staff_user("finance"))
    page = journey.page
    journey.goto(ORDERS_URL)
    _choose(journey, usd, eur)

    rows = _rows(page)
    assert rows[usd] == ["13.00 USD (of 19.00 USD: 6.00 USD given back already)", "none", "yes"]
    assert rows[eur] == ["25.00 EUR", "none", "yes"]
    assert page.locator("#refund-totals li").all_inner_texts() == ["25.00 EUR", "13.00 USD"]
    assert journey.problems() == []

    assert _confirm(journey) == [f"Order {usd} refunded.", f"Order {eur} refunded."]
    assert refunded_of(part) == 1900  # 6.00 in the dashboard, then the 13.00 confirmed
