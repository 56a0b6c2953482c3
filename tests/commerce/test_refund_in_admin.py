"""Finance refunds an order in full in the admin: money back, entitlement revoked, audited."""

import pytest

from edgeplug.audit.models import AuditEvent
from marketplace.models import Entitlement, Order
from tests.commerce.conftest import admin_client, place_order, save_card, stripe_client

pytestmark = pytest.mark.django_db

ORDERS_URL = "/admin/marketplace/order/"


@pytest.fixture
def paid_order(stripe_on, customer, agent, make_plan):
    client, _ = customer
    plan = make_plan("one_time", currency="USD", amount=1900)
    save_card(client)
    body = place_order(client, agent, plan, "paid").json()
    assert body["status"] == "completed"
    return Order.objects.get(pk=body["id"])


def refund(client, order):
    return client.post(
        ORDERS_URL, {"action": "refund_in_full", "_selected_action": [order.pk]}, follow=True
    )


def test_finance_refunds_in_full_and_the_entitlement_is_revoked(paid_order):
    client, user = admin_client("finance")
    assert client.get(ORDERS_URL).status_code == 200
    response = refund(client, paid_order)
    assert response.status_code == 200
    paid_order.refresh_from_db()
    assert paid_order.status == "refunded"
    assert Entitlement.objects.get(order=paid_order).status == "revoked"
    intent = stripe_client().v1.payment_intents.retrieve(paid_order.payment_intent_id)
    charge_id = getattr(intent.latest_charge, "id", intent.latest_charge)
    assert stripe_client().v1.charges.retrieve(charge_id).amount_refunded == 1900
    event = AuditEvent.objects.get(action="order_refunded")
    assert (event.actor, event.details["source"]) == (user, "admin")
    refund(client, paid_order)  # a second click changes nothing
    assert AuditEvent.objects.filter(action="order_refunded").count() == 1


def test_reviewers_cannot_refund(paid_order):
    client, _ = admin_client("reviewers")
    refund(client, paid_order)
    paid_order.refresh_from_db()
    assert paid_order.status == "completed"
    assert Entitlement.objects.get(order=paid_order).status == "active"
