"""A one-time order left pending by a processor error is charged again when it is read or
replayed: not once its agent went off sale or its tenant's invoice became uncollectible
meanwhile, which refuse it as placing it would, and charge nothing (docs/commerce.md)."""

import pytest

from marketplace.models import Entitlement
from tests.commerce.conftest import place_order, save_card, uncollectible_invoice

pytestmark = pytest.mark.django_db


def vendor_deactivated(agent, tenant):
    agent.tenant.is_active = False
    agent.tenant.save(update_fields=["is_active"])


def invoice_uncollectible(agent, tenant):
    uncollectible_invoice(tenant)


@pytest.mark.parametrize(
    ("meanwhile", "status", "code"),
    [(vendor_deactivated, 400, "not_available"), (invoice_uncollectible, 402, "payment_overdue")],
)
@pytest.mark.parametrize("again", ["read", "replay"])
def test_a_pending_order_is_not_charged_once_it_could_not_be_placed(
    pending_order, customer, agent, meanwhile, status, code, again
):
    client, membership = customer
    order, plan = pending_order
    save_card(client)  # a card that can be charged: before, the order was paid with it
    meanwhile(agent, membership.tenant)

    if again == "read":
        response = client.get(f"/api/v1/orders/{order.pk}")
    else:
        response = place_order(client, agent, plan, "card-gone")

    assert (response.status_code, response.json()["code"]) == (status, code)
    order.refresh_from_db()
    assert (order.status, order.payment_intent_id, order.payment_attempt) == ("pending", "", 1)
    assert not Entitlement.objects.exists()
