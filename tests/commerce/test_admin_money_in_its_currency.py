"""Finance reads an order's and a plan's money on their admin pages as the lists write it, in
the currency's major unit ("49.00 EUR"), and a plan's metered terms in words: the detail pages
said "Amount: 4900 minor units" and showed the terms as JSON ("flat_fee": 500)."""

import pytest
from lxml import html

from marketplace import pricing
from tests.factories import EntitlementFactory, OrderFactory, PricePlanFactory

pytestmark = pytest.mark.django_db

METERED = {"scheme": "per_unit", "unit_amount": 5, "flat_fee": 500}


def shown(page, field: str) -> str:
    (cell,) = html.fromstring(page.content).xpath(
        f'//*[contains(@class, "field-{field}")]//*[contains(@class, "readonly")]'
    )
    return " ".join(cell.text_content().split())


@pytest.fixture
def finance(admin_session):
    client, _ = admin_session("finance")
    return client


def test_an_order_page_shows_its_amount_and_breakdown_in_euros(finance):
    plan = PricePlanFactory(kind="one_time", amount=4900)
    breakdown = pricing.price_one_time(4900, "EUR", 2)
    order = OrderFactory(plan=plan, seats=2, amount=breakdown.total, breakdown=breakdown.as_dict())

    page = finance.get(f"/admin/marketplace/order/{order.pk}/change/")

    assert page.status_code == 200
    assert shown(page, "amount_shown") == "98.00 EUR"
    assert shown(page, "breakdown_shown") == "seats: 2 x 49.00 = 98.00 EUR"
    assert "minor units" not in page.content.decode()


def test_what_stripe_gave_back_of_an_order_reads_in_its_currency(finance):
    plan = PricePlanFactory(kind="one_time", amount=4900)
    order = OrderFactory(plan=plan, amount=4900, refunded_in_stripe=600, lost_in_disputes=300)

    page = finance.get(f"/admin/marketplace/order/{order.pk}/change/")

    assert shown(page, "refunded_in_stripe_shown") == "6.00 EUR"
    assert shown(page, "lost_in_disputes_shown") == "3.00 EUR"
    assert "minor units" not in page.content.decode()


def test_a_free_order_page_says_free(finance):
    plan = PricePlanFactory(kind="free", currency="")
    order = OrderFactory(plan=plan, breakdown=pricing.Breakdown("", ()).as_dict())

    page = finance.get(f"/admin/marketplace/order/{order.pk}/change/")

    assert shown(page, "amount_shown") == "free"
    assert shown(page, "breakdown_shown") == "-"


def test_a_one_time_plan_page_shows_its_price_in_euros(finance):
    plan = PricePlanFactory(kind="one_time", amount=4900)

    page = finance.get(f"/admin/marketplace/priceplan/{plan.pk}/change/")

    assert page.status_code == 200
    assert shown(page, "amount_shown") == "49.00 EUR"
    assert shown(page, "terms_shown") == "49.00 EUR once, per seat"


def test_a_metered_plan_page_says_its_terms_in_words(finance):
    plan = PricePlanFactory(terms=METERED)

    page = finance.get(f"/admin/marketplace/priceplan/{plan.pk}/change/")

    terms = html.fromstring(page.content).xpath('//*[contains(@class, "field-terms_shown")]//li')
    assert [item.text_content() for item in terms] == [
        "0.05 EUR per agent-hour",
        "plus 5.00 EUR a month",
    ]
    assert "flat_fee" not in page.content.decode()


def test_an_entitlement_page_says_the_plan_as_bought_in_words(finance):
    plan = PricePlanFactory(name="Hourly", key="hourly", terms=METERED)
    order = OrderFactory(plan=plan)
    entitlement = EntitlementFactory(order=order)
    plan.terms = {"scheme": "per_unit", "unit_amount": 9}  # a later change the buyer never took
    plan.save()

    page = finance.get(f"/admin/marketplace/entitlement/{entitlement.pk}/change/")

    assert page.status_code == 200
    assert shown(page, "plan_as_bought").startswith("Hourly (hourly v1)")
    terms = html.fromstring(page.content).xpath('//*[contains(@class, "field-plan_as_bought")]//li')
    assert [item.text_content() for item in terms] == [
        "0.05 EUR per agent-hour",
        "plus 5.00 EUR a month",
    ]
    assert "flat_fee" not in page.content.decode()
