"""One-time plans are charged off-session on the saved card through Stripe (localstripe)."""

from functools import partial

import pytest

from marketplace.models import Entitlement, Order, PricePlan
from tests.commerce.conftest import place_order, save_card, stripe_client

pytestmark = pytest.mark.django_db

DECLINED_ON_CHARGE = "4000000000000341"
NEEDS_3DS = "4000002760003184"


buy = partial(place_order, key="order-1", seats=3)


def test_one_time_plan_is_charged_and_entitles(stripe_on, customer, agent, make_plan):
    client, _ = customer
    plan = make_plan("one_time", currency="EUR", amount=2500)
    save_card(client)
    response = buy(client, agent, plan)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["amount"], body["currency"]) == ("completed", 7500, "EUR")
    intent = stripe_client().v1.payment_intents.retrieve(body["payment_intent_id"])
    assert (intent.status, intent.amount, intent.currency) == ("succeeded", 7500, "eur")
    assert intent.metadata["order"] == str(body["id"])
    assert Entitlement.objects.get().seats == 3
    replay = buy(client, agent, plan)
    assert replay.json()["payment_intent_id"] == body["payment_intent_id"]
    assert Order.objects.get().payment_attempt == 1


def test_declined_card_fails_the_order_without_entitlement(
    stripe_on, customer, agent, make_plan, settings
):
    client, _ = customer
    plan = make_plan("one_time", currency="USD", amount=1000)
    save_card(client, DECLINED_ON_CHARGE)
    response = buy(client, agent, plan)
    assert (response.status_code, response.json()["code"]) == (402, "card_declined")
    assert response.json()["order"]["status"] == "failed"
    assert Order.objects.get().status == "failed"
    assert not Entitlement.objects.exists()
    # Sent again, the same key answers the same failed order, marked as a replay like any.
    again = buy(client, agent, plan)
    assert (again.status_code, again["Idempotent-Replayed"]) == (402, "true")
    assert again.json() == response.json() and Order.objects.count() == 1
    # The customer never held that intent's client secret: reading the order asks Stripe
    # nothing (it did on every read, and answered 503 once payments were switched off).
    settings.STRIPE_API_KEY = ""
    read = client.get(f"/api/v1/orders/{response.json()['order']['id']}")
    assert (read.status_code, read.json()["status"]) == (200, "failed")


def test_card_needing_3d_secure_returns_the_client_secret(stripe_on, customer, agent, make_plan):
    client, _ = customer
    plan = make_plan("one_time", currency="USD", amount=1000)
    save_card(client, NEEDS_3DS)
    response = buy(client, agent, plan)
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "requires_action"
    assert body["client_secret"].startswith(body["payment_intent_id"])
    assert not Entitlement.objects.exists()


def test_metered_plan_needs_a_card_and_charges_nothing_upfront(
    stripe_on, customer, agent, make_plan
):
    client, _ = customer
    plan = make_plan("metered", currency="USD", terms={"scheme": "per_unit", "unit_amount": 4})
    save_card(client)
    response = buy(client, agent, plan)
    assert response.status_code == 201
    assert (response.json()["status"], response.json()["amount"]) == ("completed", 0)
    assert response.json()["payment_intent_id"] == ""
    assert Entitlement.objects.get().plan_snapshot["terms"]["unit_amount"] == 4


def test_a_plan_priced_before_the_charge_step_rule_refuses_orders_it_could_not_charge(
    stripe_on, customer, agent, make_plan
):
    """1.215 KWD a seat, priced before plans had to be chargeable as they are: Stripe refuses
    such an amount, so the order is refused before anything is written or charged."""
    client, _ = customer
    plan = make_plan("one_time", currency="KWD", amount=1210)
    PricePlan.objects.filter(pk=plan.pk).update(amount=1215)
    save_card(client)

    response = buy(client, agent, plan)

    assert (response.status_code, response.json()["code"]) == (400, "not_available")
    assert "KWD card charges are multiples of 0.010 KWD" in response.json()["detail"]
    assert not Order.objects.exists()


def test_more_seats_than_one_card_charge_pays_are_refused_before_anything_is_written(
    stripe_on, customer, agent, make_plan
):
    """Stripe charges at most 999,999.99 EUR at once (and refuses more: localstripe too): 30,000
    seats at 49.00 were written as an order, refused by the processor (a 502 "try again later",
    on every read and replay) and left pending for good. Refused first, naming the most seats
    one order can hold; that many are charged."""
    client, _ = customer
    plan = make_plan("one_time", currency="EUR", amount=4900)
    save_card(client)

    refused = place_order(client, agent, plan, "too-many", seats=30_000)

    assert (refused.status_code, refused.json()["code"]) == (400, "amount_too_large")
    assert refused.json()["field"] == "seats"
    assert "Order at most 20408 seats at a time." in refused.json()["detail"]
    assert not Order.objects.exists()
    most = place_order(client, agent, plan, "most", seats=20_408)
    assert (most.status_code, most.json()["amount"]) == (201, 99_999_200), most.json()
    assert most.json()["status"] == "completed"


def test_the_card_processor_refuses_a_charge_above_its_largest(stripe_on):
    """localstripe, as the tests start it, refuses what Stripe refuses (it takes any amount)."""
    import stripe

    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client().v1.payment_intents.create(
            {"amount": 100_000_000, "currency": "eur", "payment_method_types": ["card"]}
        )
    assert (refused.value.code, refused.value.param) == ("amount_too_large", "amount")
