"""A retried order returns the order already made; a reused key with another body is refused."""

import pytest
from rest_framework.test import APIClient

from marketplace.models import Entitlement, Order
from tests.commerce.conftest import place_order, save_card
from tests.concurrency import needs_row_locks, race

pytestmark = pytest.mark.django_db


buy = place_order


def test_same_key_and_body_returns_the_same_order(customer, agent, make_plan):
    plan = make_plan("free")
    first = buy(customer[0], agent, plan, "retry-me")
    again = buy(customer[0], agent, plan, "retry-me")
    assert first.status_code == 201 and again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Order.objects.count() == 1 and Entitlement.objects.count() == 1


def test_same_key_with_another_body_is_refused(customer, agent, make_plan):
    plan = make_plan("free")
    buy(customer[0], agent, plan, "k", seats=1)
    response = buy(customer[0], agent, plan, "k", seats=5)
    assert (response.status_code, response.json()["code"]) == (409, "idempotency_key_reused")
    assert Order.objects.get().seats == 1


def test_keys_are_per_tenant(member_client, agent, make_plan):
    plan = make_plan("free")
    alice, _ = member_client("admin")
    bob, _ = member_client("admin")
    assert buy(alice, agent, plan, "shared").status_code == 201
    assert buy(bob, agent, plan, "shared").status_code == 201
    assert Order.objects.count() == 2


@pytest.mark.django_db(transaction=True)
@needs_row_locks
def test_concurrent_requests_with_one_key_create_one_order(customer, agent, make_plan):
    plan = make_plan("free")
    auth = customer[0]._credentials

    def attempt(_):
        client = APIClient()
        client.credentials(**auth)
        response = buy(client, agent, plan, "race")
        return response.status_code, response.json()["id"]

    results = race(attempt, range(4))
    assert Order.objects.count() == 1 and Entitlement.objects.count() == 1
    assert sorted(status for status, _ in results) == [200, 200, 200, 201]
    assert {order_id for _, order_id in results} == {Order.objects.get().pk}


@pytest.mark.django_db(transaction=True)
@needs_row_locks
def test_concurrent_paid_orders_with_one_key_are_answered_with_the_one_order(
    stripe_on, customer, agent, make_plan
):
    """The first request's payment writes its order and then takes the tenant's standing
    lock, which a second request used to hold while it waited at the unique index for that
    very write: PostgreSQL broke the deadlock by failing one, answered 503. Every request now
    gets the order (three keys, six requests each: it showed in most rounds)."""
    plan = make_plan("one_time", currency="EUR", amount=900)
    save_card(customer[0])
    auth = customer[0]._credentials

    def attempt(key):
        client = APIClient()
        client.credentials(**auth)
        response = buy(client, agent, plan, key)
        return key, response.status_code, response.json().get("id")

    results = race(attempt, [f"paid-{round_}" for round_ in range(3) for _ in range(6)])

    assert sorted(status for _, status, _ in results) == [200] * 15 + [201] * 3
    orders = dict(Order.objects.values_list("idempotency_key", "pk"))
    assert {(key, order) for key, _, order in results} == set(orders.items())
    assert Entitlement.objects.count() == 3
    assert set(Order.objects.values_list("status", flat=True)) == {"completed"}
