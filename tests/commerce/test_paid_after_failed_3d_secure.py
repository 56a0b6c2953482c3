"""A 3-D Secure challenge fails, the order is marked failed, then the customer pays the same
PaymentIntent in the browser (Stripe.js keeps its client secret): the order completes once."""

import pytest
from django.db import connection, transaction
from rest_framework.test import APIClient

from billing import collection
from billing.models import Invoice, InvoiceStatus
from edgeplug.audit.models import AuditEvent
from marketplace.models import Entitlement, Order
from tests.commerce.conftest import (
    authenticate,
    event,
    place_order,
    signed_webhook,
    stripe_client,
    uncollectible_invoice,
)
from tests.commerce.test_stripe_webhooks import (  # noqa: F401 - the fixture
    NEEDS_3DS,
    intent_event,
    pending_3ds_order,
)
from tests.concurrency import race

pytestmark = pytest.mark.django_db


@pytest.fixture
def failed_3ds_order(pending_3ds_order, customer):  # noqa: F811
    """The order after a failed challenge, as the customer's browser last saw it."""
    client, _ = customer
    authenticate(pending_3ds_order, success=False)
    failed = client.get(f"/api/v1/orders/{pending_3ds_order['id']}").json()
    assert (failed["status"], failed["failure_code"]) == (
        "failed",
        "payment_intent_authentication_failure",
    )
    return pending_3ds_order


def pay_again_in_the_browser(order_body, number=NEEDS_3DS):
    """What Stripe.js does with the client secret it still holds: confirm the same
    PaymentIntent with a card (localstripe takes the card by an update, then a confirm),
    and the customer passes the challenge this time."""
    stripe = stripe_client()
    card = stripe.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": number, "exp_month": 12, "exp_year": 2035, "cvc": "123"},
        }
    )
    intent_id = order_body["payment_intent_id"]
    stripe.v1.payment_intents.update(intent_id, params={"payment_method": card.id})
    intent = stripe.v1.payment_intents.confirm(intent_id)
    if intent.status == "requires_action":
        authenticate(order_body)
    assert stripe.v1.payment_intents.retrieve(intent_id).status == "succeeded"


def granted(order):
    return AuditEvent.objects.filter(action="entitlement_granted", details__order=order.pk)


def test_success_webhook_after_a_failure_completes_the_order_once(failed_3ds_order, customer, api):
    client, _ = customer
    pay_again_in_the_browser(failed_3ds_order)
    succeeded = intent_event("evt_paid", "payment_intent.succeeded", failed_3ds_order)
    stale_failure = intent_event("evt_old", "payment_intent.payment_failed", failed_3ds_order)
    for payload in (succeeded, succeeded, stale_failure):
        assert signed_webhook(api, payload).status_code == 200
    assert client.get(f"/api/v1/orders/{failed_3ds_order['id']}").json()["status"] == "completed"

    order = Order.objects.get()
    assert (order.status, order.failure_code, order.failure_detail) == ("completed", "", "")
    assert order.completed_at is not None
    assert Entitlement.objects.get(order=order).status == "active"
    assert granted(order).count() == 1
    recovered = AuditEvent.objects.get(action="order_paid_after_failure")
    assert recovered.details == {
        "payment_intent": failed_3ds_order["payment_intent_id"],
        "previous_failure": "payment_intent_authentication_failure",
    }


def test_reading_the_order_after_paying_again_completes_it(failed_3ds_order, customer):
    client, _ = customer
    pay_again_in_the_browser(failed_3ds_order, number="4242424242424242")
    body = client.get(f"/api/v1/orders/{failed_3ds_order['id']}").json()
    assert (body["status"], body["failure_code"]) == ("completed", "")
    assert body["entitlement"] is not None
    agent, plan = failed_3ds_order["agent"], failed_3ds_order["plan"]["id"]
    replay = place_order(client, agent, plan, "3ds")  # the POST replayed
    assert (replay.status_code, replay.json()["status"]) == (200, "completed")
    assert granted(Order.objects.get()).count() == 1


def test_a_failed_order_stays_failed_while_its_intent_is_unpaid(failed_3ds_order, customer):
    client, _ = customer
    again = client.get(f"/api/v1/orders/{failed_3ds_order['id']}").json()
    assert again["status"] == "failed"
    assert not Entitlement.objects.exists()
    assert AuditEvent.objects.filter(action="order_payment_failed").count() == 1


def test_a_refund_of_the_payment_made_after_the_failure_refunds_a_completed_order(
    failed_3ds_order, api
):
    pay_again_in_the_browser(failed_3ds_order)
    # Finance refunds in Stripe before our success event was handled (delayed or reordered).
    stripe_client().v1.refunds.create(
        params={"payment_intent": failed_3ds_order["payment_intent_id"]}
    )
    charge = {
        "id": "ch_x",
        "object": "charge",
        "payment_intent": failed_3ds_order["payment_intent_id"],
    }
    assert signed_webhook(api, event("evt_refund", "charge.refunded", charge)).status_code == 200
    late_success = intent_event("evt_paid", "payment_intent.succeeded", failed_3ds_order)
    assert signed_webhook(api, late_success).status_code == 200

    order = Order.objects.get()
    # Paid, then refunded: the month bills it and credits it, as it does any refunded order.
    assert order.status == "refunded" and order.completed_at is not None
    entitlement = Entitlement.objects.get(order=order)
    assert entitlement.status == "revoked"
    assert granted(order).count() == 1
    assert AuditEvent.objects.filter(action="order_refunded").count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="concurrent requests need a database that locks rows",
)
def test_success_webhook_and_a_read_at_the_same_time_grant_one_entitlement(
    failed_3ds_order, customer
):
    client, _ = customer
    pay_again_in_the_browser(failed_3ds_order)
    payload = intent_event("evt_paid", "payment_intent.succeeded", failed_3ds_order)
    doors = {
        "webhook": lambda: signed_webhook(APIClient(), payload).status_code,
        "read": lambda: client.get(f"/api/v1/orders/{failed_3ds_order['id']}").status_code,
    }

    answers = dict(zip(doors, race(lambda door: doors[door](), doors), strict=True))

    assert answers == {"webhook": 200, "read": 200}
    order = Order.objects.get()
    assert order.status == "completed"
    assert Entitlement.objects.filter(order=order).count() == 1
    assert granted(order).count() == 1
    assert AuditEvent.objects.filter(action="order_paid_after_failure").count() == 1


def test_an_order_paid_once_an_invoice_went_uncollectible_is_granted_suspended(
    pending_3ds_order,  # noqa: F811 - the fixture
    customer,
):
    """Placed in good standing, paid (3-D Secure passed) after an invoice of the tenant became
    uncollectible: its entitlement stands as the tenant's others do, suspended for that
    invoice, and comes back with them when the invoice is settled (it was granted active,
    beside the unpaid invoice)."""
    client, membership = customer
    overdue = uncollectible_invoice(membership.tenant)
    authenticate(pending_3ds_order)  # the customer passes the challenge in the browser

    read = client.get(f"/api/v1/orders/{pending_3ds_order['id']}")

    assert read.json()["status"] == "completed"
    entitlement = Entitlement.objects.get(order_id=pending_3ds_order["id"])
    assert entitlement.status == "suspended"
    assert entitlement.status_reason == "non-payment: invoice EP-2026-000001 uncollectible"
    assert AuditEvent.objects.get(action="entitlement_granted").details["status"] == "suspended"

    with transaction.atomic():  # the invoice settled (paid or voided), as billing does it
        Invoice.objects.filter(pk=overdue.pk).update(status=InvoiceStatus.PAID)
        collection.lift_suspension(overdue)
    entitlement.refresh_from_db()
    assert entitlement.status == "active"
