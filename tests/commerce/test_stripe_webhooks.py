"""Webhooks: signed, handled once per event id, and safe in any order."""

import time

import pytest
from django.db import connection

from billing.models import WebhookEvent
from marketplace.models import Entitlement, Order
from tests.commerce.conftest import (
    authenticate,
    event,
    place_order,
    save_card,
    signed_webhook,
    stripe_client,
)
from tests.faults.components import connection_on_a_standby

pytestmark = pytest.mark.django_db

NEEDS_3DS = "4000002760003184"  # every charge waits for the card holder to authenticate


@pytest.fixture
def pending_3ds_order(stripe_on, customer, agent, make_plan):
    client, _ = customer
    plan = make_plan("one_time", currency="USD", amount=1000)
    save_card(client, NEEDS_3DS)
    body = place_order(client, agent, plan, "3ds").json()
    assert body["status"] == "requires_action"
    return body


def intent_event(event_id, kind, order_body):
    return event(
        event_id, kind, {"id": order_body["payment_intent_id"], "object": "payment_intent"}
    )


def test_duplicate_and_reordered_deliveries_grant_one_entitlement(pending_3ds_order, api):
    authenticate(pending_3ds_order)
    succeeded = intent_event("evt_ok", "payment_intent.succeeded", pending_3ds_order)
    late_failure = intent_event("evt_old_fail", "payment_intent.payment_failed", pending_3ds_order)
    late_action = intent_event(
        "evt_old_action", "payment_intent.requires_action", pending_3ds_order
    )
    for payload in (late_action, succeeded, succeeded, late_failure, succeeded):
        assert signed_webhook(api, payload).status_code == 200
    order = Order.objects.get()
    assert order.status == "completed"
    assert Entitlement.objects.filter(order=order).count() == 1
    assert WebhookEvent.objects.count() == 3


def test_failure_event_arriving_before_success_does_not_fail_a_paid_order(pending_3ds_order, api):
    authenticate(pending_3ds_order)
    # The failure event is delivered first, but the PaymentIntent (re-fetched) has succeeded.
    signed_webhook(api, intent_event("evt_f", "payment_intent.payment_failed", pending_3ds_order))
    assert Order.objects.get().status == "completed"
    assert Entitlement.objects.count() == 1


def test_failed_authentication_fails_the_order(pending_3ds_order, api):
    authenticate(pending_3ds_order, success=False)
    signed_webhook(api, intent_event("evt_f", "payment_intent.payment_failed", pending_3ds_order))
    assert Order.objects.get().status == "failed"
    assert not Entitlement.objects.exists()


def test_bad_or_stale_signatures_are_refused_and_nothing_is_stored(pending_3ds_order, api):
    payload = intent_event("evt_x", "payment_intent.succeeded", pending_3ds_order)
    forged = signed_webhook(api, payload, secret="whsec_wrong")
    assert (forged.status_code, forged.json()["code"]) == (400, "invalid_signature")
    stale = signed_webhook(api, payload, timestamp=int(time.time()) - 301)
    assert (stale.status_code, stale.json()["code"]) == (400, "invalid_signature")
    unsigned = api.post("/api/v1/stripe/webhook", payload, format="json")
    assert unsigned.status_code == 400
    assert not WebhookEvent.objects.exists()
    assert Order.objects.get().status == "requires_action"


def test_refund_event_revokes_the_entitlement(stripe_on, customer, agent, make_plan, api):
    client, _ = customer
    plan = make_plan("one_time", currency="USD", amount=1000)
    save_card(client)
    body = place_order(client, agent, plan, "r").json()
    stripe_client().v1.refunds.create(params={"payment_intent": body["payment_intent_id"]})
    charge = {"id": "ch_x", "object": "charge", "payment_intent": body["payment_intent_id"]}
    assert signed_webhook(api, event("evt_refund", "charge.refunded", charge)).status_code == 200
    assert Order.objects.get().status == "refunded"
    assert Entitlement.objects.get().status == "revoked"


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="a read-only standby is PostgreSQL's: the embedded SQLite has none",
)
def test_webhook_on_a_server_that_cannot_write_is_database_unavailable(pending_3ds_order):
    """After a failover to a standby (reached through a name not yet updated) the event cannot
    be recorded: 503 database_unavailable, as every request that meets it, not retry_later's
    "the payment is busy"; Stripe's redelivery, once the names are updated, pays the order."""
    from rest_framework.test import APIClient

    authenticate(pending_3ds_order)
    payload = intent_event("evt_standby", "payment_intent.succeeded", pending_3ds_order)
    with connection_on_a_standby():
        refused = signed_webhook(APIClient(), payload)
        connection.close_if_unusable_or_obsolete()  # the end of the request drops it

    assert (refused.status_code, refused.json()["code"]) == (503, "database_unavailable")
    assert not WebhookEvent.objects.exists()
    assert signed_webhook(APIClient(), payload).status_code == 200
    assert Order.objects.get().status == "completed"


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="lock timeouts are a PostgreSQL setting",
)
def test_webhook_answers_503_while_the_order_is_locked(pending_3ds_order, settings):
    import threading

    from django.db import connections, transaction
    from rest_framework.test import APIClient

    settings.STRIPE_WEBHOOK_LOCK_TIMEOUT_MS = 100
    authenticate(pending_3ds_order)
    locked, release = threading.Event(), threading.Event()

    def hold_the_order():
        try:
            with transaction.atomic():
                Order.objects.select_for_update().get()
                locked.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_the_order)
    holder.start()
    try:
        assert locked.wait(timeout=30)
        payload = intent_event("evt_busy", "payment_intent.succeeded", pending_3ds_order)
        busy = signed_webhook(APIClient(), payload)
        assert (busy.status_code, busy.json()["code"]) == (503, "retry_later")
        assert not WebhookEvent.objects.exists()
    finally:
        release.set()
        holder.join()
    assert signed_webhook(APIClient(), payload).status_code == 200
    assert Order.objects.get().status == "completed"
