"""While the payment processor cannot be reached (or takes connections and never answers,
past ``STRIPE_TIMEOUT_S``), every door that needs it (saved cards, the
setup webhook, reading or replaying an order awaiting its payment) answers 502
``payment_processor_error``, as placing an order does, and changes nothing here: the same
request succeeds once the processor is back."""

import pytest

from billing.models import PaymentMethod, StripeCustomer, WebhookEvent
from edgeplug.audit.models import AuditEvent
from marketplace.models import Entitlement, Order
from tests.commerce.conftest import (
    authenticate,
    confirmed_setup,
    event,
    place_order,
    save_card,
    signed_webhook,
    stripe_client,
)
from tests.openapi_conformance import assert_documented

SETUP = "POST /api/v1/billing/payment-methods/setup"
SAVE = "POST /api/v1/billing/payment-methods"
REMOVE = "DELETE /api/v1/billing/payment-methods/{id}"
WEBHOOK = "POST /api/v1/stripe/webhook"

pytestmark = pytest.mark.django_db

NEEDS_3DS = "4000002760003184"


def assert_processor_error(response, operation: str):
    """A 502 payment_processor_error, as the schema documents for ``operation``."""
    assert response.status_code == 502, response.content
    body = response.json()
    assert body["code"] == "payment_processor_error"
    assert "could not be reached" in body["detail"]
    assert "127.0.0.1" not in body["detail"]  # the server's own addresses stay in its log
    assert_documented(response, operation)


def test_starting_a_card_setup_is_a_502_for_new_and_known_customers(processor, member_client):
    newcomer, membership = member_client("admin")
    processor.down()
    assert_processor_error(newcomer.post("/api/v1/billing/payment-methods/setup"), SETUP)
    assert not StripeCustomer.objects.filter(tenant=membership.tenant).exists()

    known, _ = member_client("admin")
    processor.up()
    save_card(known)
    processor.down()
    assert_processor_error(known.post("/api/v1/billing/payment-methods/setup"), SETUP)


# The guard: with the SDK's own 80 s timeout the three attempts would wait four minutes.
@pytest.mark.timeout(60)
def test_a_processor_that_never_answers_is_a_502_once_its_timeout_passes(
    processor, member_client, settings
):
    settings.STRIPE_TIMEOUT_S = 0.2  # STRIPE_TIMEOUT_S: each of the three attempts
    client, membership = member_client("admin")
    processor.silent()
    assert_processor_error(client.post("/api/v1/billing/payment-methods/setup"), SETUP)
    assert not StripeCustomer.objects.filter(tenant=membership.tenant).exists()

    processor.up()
    assert client.post("/api/v1/billing/payment-methods/setup").status_code == 201


def test_saving_a_confirmed_card_is_a_502_and_saves_it_once_the_processor_is_back(
    processor, customer
):
    client, _ = customer
    setup_intent = confirmed_setup(client)["setup_intent"]
    processor.down()
    body = {"setup_intent": setup_intent}
    saving = client.post("/api/v1/billing/payment-methods", body, format="json")
    assert_processor_error(saving, SAVE)
    assert not PaymentMethod.objects.exists()
    assert not AuditEvent.objects.filter(action="payment_method_added").exists()

    processor.up()
    saved = client.post("/api/v1/billing/payment-methods", body, format="json")
    assert (saved.status_code, saved.json()["is_default"]) == (201, True)


def test_the_setup_webhook_is_a_502_and_stored_only_when_handled(processor, customer, api):
    client, _ = customer
    setup_intent = confirmed_setup(client)["setup_intent"]
    customer_id = StripeCustomer.objects.get().customer_id
    payload = event(
        "evt_setup_down",
        "setup_intent.succeeded",
        {"id": setup_intent, "object": "setup_intent", "customer": customer_id},
    )
    processor.down()
    assert_processor_error(signed_webhook(api, payload), WEBHOOK)
    assert not WebhookEvent.objects.exists() and not PaymentMethod.objects.exists()

    processor.up()  # Stripe delivers the event again
    assert signed_webhook(api, payload).status_code == 200
    assert PaymentMethod.objects.count() == 1


def test_removing_a_card_is_a_502_and_keeps_it_here_and_at_the_processor(processor, customer):
    client, _ = customer
    card = save_card(client)
    processor.down()
    removing = client.delete(f"/api/v1/billing/payment-methods/{card['id']}")
    assert_processor_error(removing, REMOVE)
    method = PaymentMethod.objects.get(pk=card["id"])
    assert method.is_default
    assert not AuditEvent.objects.filter(action="payment_method_removed").exists()

    processor.up()
    customer_id = StripeCustomer.objects.get().customer_id
    assert stripe_client().v1.payment_methods.retrieve(method.stripe_id).customer == customer_id
    assert client.delete(f"/api/v1/billing/payment-methods/{card['id']}").status_code == 204


def test_reading_or_replaying_an_order_awaiting_3d_secure_is_a_502_and_leaves_it(
    processor, customer, agent, make_plan
):
    client, _ = customer
    plan = make_plan("one_time", currency="EUR", amount=1500)
    save_card(client, NEEDS_3DS)
    placed = place_order(client, agent, plan, "order-3ds")
    assert (placed.status_code, placed.json()["status"]) == (201, "requires_action")
    before = Order.objects.values().get()

    processor.down()
    assert_processor_error(
        client.get(f"/api/v1/orders/{placed.json()['id']}"), "GET /api/v1/orders/{id}"
    )
    assert_processor_error(place_order(client, agent, plan, "order-3ds"), "POST /api/v1/orders")
    assert Order.objects.values().get() == before
    assert not Entitlement.objects.exists()

    processor.up()
    authenticate(placed.json())  # the customer passes 3-D Secure in the browser
    read = client.get(f"/api/v1/orders/{placed.json()['id']}")
    assert (read.status_code, read.json()["status"]) == (200, "completed")
    assert Entitlement.objects.count() == 1


def test_a_charge_whose_answer_was_lost_completes_its_order_when_its_webhook_comes(
    processor, customer, agent, make_plan, api
):
    """The processor took the charge but its answer never reached us (down, or a timeout):
    the order stores no PaymentIntent yet. The intent's success webhook names the order in
    its metadata and completes it, instead of answering "no order" for ever."""
    client, membership = customer
    plan = make_plan("one_time", currency="EUR", amount=1500)
    save_card(client)
    processor.down()
    assert_processor_error(place_order(client, agent, plan, "lost"), "POST /api/v1/orders")
    order = Order.objects.get()
    assert (order.status, order.payment_intent_id) == ("pending", "")
    processor.up()

    def charged(tenant_id: int) -> str:
        """A charge the processor made for the order, its metadata naming ``tenant_id``, and
        its success webhook delivered: the webhook's outcome."""
        intent = stripe_client().v1.payment_intents.create(
            params={
                "amount": 1500,
                "currency": "eur",
                "customer": StripeCustomer.objects.get(tenant=membership.tenant).customer_id,
                "payment_method": PaymentMethod.objects.get(tenant=membership.tenant).stripe_id,
                "confirm": True,
                "off_session": True,
                "metadata": {"order": str(order.pk), "tenant": str(tenant_id)},
            }
        )
        succeeded = {"id": intent.id, "object": "payment_intent"}
        delivered = signed_webhook(
            api, event(f"evt_{intent.id}", "payment_intent.succeeded", succeeded)
        )
        assert delivered.status_code == 200, delivered.content
        return intent.id

    # Metadata naming the order with another tenant is no charge of this order.
    charged(membership.tenant_id + 1)
    order.refresh_from_db()
    assert (order.status, order.payment_intent_id) == ("pending", "")
    # What the processor made of the request whose answer was lost: the order's charge.
    intent_id = charged(membership.tenant_id)
    order.refresh_from_db()
    assert (order.status, order.payment_intent_id) == ("completed", intent_id)
    assert Entitlement.objects.filter(tenant=membership.tenant).count() == 1
    read = client.get(f"/api/v1/orders/{order.pk}")
    assert read.json()["status"] == "completed"
