"""Finance refunds orders in full from the orders list in Chromium, in two steps as Django's
"delete selected" deletes: the action shows each chosen order with its amount and whether it
can be refunded, and the money given back per currency; Cancel goes back to the list with
nothing refunded, Confirm refunds the refundable ones. Before, Go refunded at once, even every
order of a "select all"."""

import pytest

from billing import collection, invoicing
from billing.models import Invoice
from billing.periods import month_start, previous_month
from edgeplug.audit.models import AuditEvent
from marketplace.models import Entitlement, Order
from tests.commerce.conftest import (  # noqa: F401  (the fixtures)
    ORDERS_URL,
    agent,
    customer,
    localstripe,
    make_plan,
    place_order,
    published,
    save_card,
    stripe_on,
)
from tests.factories import OrderFactory
from tests.invoicing.conftest import Customer

pytestmark = pytest.mark.browser

ACTION = "Refund in full (revokes the entitlement)"


@pytest.fixture
def orders(stripe_on, customer, agent, make_plan):  # noqa: F811
    """A customer's paid orders (19.00 USD, 2 seats for 38.00 USD, 25.00 EUR) and a failed
    one of 19.00 USD, by id."""
    client, membership = customer
    usd = make_plan("one_time", currency="USD", amount=1900)
    eur = make_plan("one_time", key="eur-plan", currency="EUR", amount=2500)
    save_card(client)
    paid = {
        name: place_order(client, agent, plan, name, seats=seats).json()
        for name, plan, seats in (("usd", usd, 1), ("usd-two-seats", usd, 2), ("eur", eur, 1))
    }
    assert {body["status"] for body in paid.values()} == {"completed"}
    failed = OrderFactory(
        plan=usd, tenant=membership.tenant, status="failed", amount=1900, currency="USD"
    )
    return {**{name: body["id"] for name, body in paid.items()}, "failed": failed.pk}


def _choose(journey, *order_ids) -> None:
    """Tick the orders on the list, pick the refund and press Go: the confirmation page."""
    page = journey.page
    for pk in order_ids:
        page.locator(f'#result_list input[name="_selected_action"][value="{pk}"]').check()
    page.locator('select[name="action"]').select_option(label=ACTION)
    journey.click(page.get_by_role("button", name="Go"))


def _statuses(order_ids) -> dict[int, tuple[str, str | None]]:
    """Each order's status and its entitlement's (None when it has none)."""
    entitlements = dict(
        Entitlement.objects.filter(order_id__in=order_ids).values_list("order_id", "status")
    )
    return {
        pk: (status, entitlements.get(pk))
        for pk, status in Order.objects.filter(pk__in=order_ids).values_list("pk", "status")
    }


def test_finance_confirms_a_refund_after_reading_what_it_gives_back(journey, staff_user, orders):
    before = _statuses(orders.values())
    assert before[orders["usd"]] == ("completed", "active")
    journey.sign_in(staff_user("finance"))
    page = journey.page
    journey.goto(ORDERS_URL)
    _choose(journey, orders["usd"], orders["eur"], orders["failed"])

    assert page.locator("#content h1").inner_text() == "Refund orders in full"
    crumbs = page.locator(".breadcrumbs")
    assert crumbs.get_by_role("link", name="Orders").get_attribute("href") == ORDERS_URL
    rows = {
        int(row.get_attribute("data-order")): row.locator("td").all_inner_texts()
        for row in page.locator("tr.refund-row").all()
    }
    assert set(rows) == {orders["usd"], orders["eur"], orders["failed"]}
    assert rows[orders["usd"]][3:] == ["19.00 USD", "none", "yes"]
    assert rows[orders["eur"]][3:] == ["25.00 EUR", "none", "yes"]
    assert rows[orders["failed"]][3:] == ["19.00 USD", "", "no: failed, not completed"]
    assert page.locator("#refund-totals li").all_inner_texts() == ["25.00 EUR", "19.00 USD"]
    assert _statuses(orders.values()) == before  # asked only

    journey.click(page.get_by_role("link", name="Cancel"))
    assert page.url == journey.base_url + ORDERS_URL
    assert page.locator(".messagelist").count() == 0
    assert _statuses(orders.values()) == before

    _choose(journey, orders["usd"], orders["eur"], orders["failed"])
    journey.click(page.get_by_role("button", name="Confirm"))

    assert page.url == journey.base_url + ORDERS_URL
    assert sorted(page.locator(".messagelist .success").all_inner_texts()) == sorted(
        [f"Order {orders['usd']} refunded.", f"Order {orders['eur']} refunded."]
    )
    after = _statuses(orders.values())
    assert after[orders["usd"]] == after[orders["eur"]] == ("refunded", "revoked")
    assert after[orders["usd-two-seats"]] == ("completed", "active")  # not chosen
    assert after[orders["failed"]] == ("failed", None)
    refunded = AuditEvent.objects.filter(action="order_refunded")
    assert sorted(refunded.values_list("target", flat=True)) == sorted(
        [f"order {orders['usd']}", f"order {orders['eur']}"]
    )


def test_select_all_then_go_only_asks(journey, staff_user, orders):
    """One click on "select all" and Go refunded every order; it now lists them all and asks."""
    before = _statuses(orders.values())
    journey.sign_in(staff_user("finance"))
    page = journey.page
    journey.goto(ORDERS_URL)
    page.locator("#action-toggle").check()
    page.locator('select[name="action"]').select_option(label=ACTION)
    journey.click(page.get_by_role("button", name="Go"))

    rows = page.locator("tr.refund-row")
    assert sorted(int(pk) for pk in rows.evaluate_all("rs => rs.map(r => r.dataset.order)")) == (
        sorted(orders.values())
    )
    # The failed order is listed, not counted: 19.00 + 38.00 USD given back.
    assert page.locator("#refund-totals li").all_inner_texts() == ["25.00 EUR", "57.00 USD"]
    confirm = page.get_by_role("button", name="Confirm")
    assert confirm.get_attribute("value") == "Confirm: refund 3 orders"
    assert _statuses(orders.values()) == before


def test_finance_reads_the_vat_a_credit_note_pays_back_before_confirming(
    journey, staff_user, orders
):
    """The USD orders' month is invoiced (19 % VAT on 19.00 + 38.00) and paid by transfer:
    refunding them also issues credit notes paying that VAT back, and the page counts it
    in what is given back (it said 57.00 USD while 67.83 USD went back)."""
    usd = Order.objects.filter(pk__in=[orders["usd"], orders["usd-two-seats"]])
    Customer(usd[0].tenant, vendor=None).account(currency="USD")
    month = previous_month(month_start(usd[0].completed_at))
    usd.update(completed_at=month)
    (pk,) = invoicing.close_billing_period(month).created
    invoice = invoicing.finalize_invoice(Invoice.objects.get(pk=pk))
    invoice = collection.record_offline_payment(invoice, reference="BANK-1")
    assert invoice.tax == 1083
    journey.sign_in(staff_user("finance"))
    page = journey.page
    journey.goto(ORDERS_URL)
    _choose(journey, orders["usd"], orders["usd-two-seats"], orders["eur"])

    notes = {
        int(row.get_attribute("data-order")): row.locator("td.refund-credit-note").inner_text()
        for row in page.locator("tr.refund-row").all()
    }
    by_transfer = f"paid back by bank transfer (credit note of {invoice.number})"
    assert notes == {
        orders["usd"]: f"3.61 USD {by_transfer}",
        orders["usd-two-seats"]: f"7.22 USD {by_transfer}",
        orders["eur"]: "none",
    }
    assert page.locator("#refund-totals li").all_inner_texts() == ["25.00 EUR", "67.83 USD"]
    assert not Invoice.objects.filter(credit_of=invoice).exists()  # asked only

    journey.click(page.get_by_role("button", name="Confirm"))

    assert page.url == journey.base_url + ORDERS_URL
    paid_back = Invoice.objects.filter(credit_of=invoice).values_list("refund_amount", flat=True)
    assert sorted(paid_back) == [361, 722]
    assert 1900 + 3800 + sum(paid_back) == 6783
