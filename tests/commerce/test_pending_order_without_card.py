"""A one-time order left pending by a processor error, whose tenant then removed its card:
reading or replaying it asks for a card (402), as placing it without one does."""

import pytest

from edgeplug.audit.models import AuditEvent
from marketplace.models import Entitlement
from tests.commerce.conftest import place_order

pytestmark = pytest.mark.django_db


def remove_the_default_card(client):
    (card,) = client.get("/api/v1/billing/payment-methods").json()["results"]
    assert client.delete(f"/api/v1/billing/payment-methods/{card['id']}").status_code == 204


def test_reading_a_pending_order_without_a_card_asks_for_one(pending_order, customer):
    client, _ = customer
    order, _ = pending_order
    remove_the_default_card(client)
    response = client.get(f"/api/v1/orders/{order.pk}")
    assert (response.status_code, response.json()["code"]) == (402, "payment_method_required")
    assert "/api/v1/billing/payment-methods" in response.json()["detail"]
    order.refresh_from_db()
    assert (order.status, order.payment_intent_id, order.payment_attempt) == ("pending", "", 1)
    assert not AuditEvent.objects.filter(action="order_payment_failed").exists()


def test_replaying_the_order_without_a_card_asks_for_one(pending_order, customer, agent):
    client, _ = customer
    order, plan = pending_order
    remove_the_default_card(client)
    replay = place_order(client, agent, plan, "card-gone")
    assert (replay.status_code, replay.json()["code"]) == (402, "payment_method_required")
    order.refresh_from_db()
    assert (order.status, order.payment_intent_id, order.payment_attempt) == ("pending", "", 1)
    assert not Entitlement.objects.exists()
