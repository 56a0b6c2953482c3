"""Webhooks: signed, handled once per event id, and safe in any order."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from django.db import connection, connections, transaction
from django.db.models import F
from rest_framework.test import APIClient

from billing import payments
from billing.models import WebhookEvent
from marketplace.models import Entitlement, Order
from tests.commerce.conftest import (
    WEBHOOK_SECRET,
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


@pytest.mark.parametrize(
    "body",
    [
        {"hello": 1},
        [1, 2],
        {"id": "evt_x", "type": "payment_intent.succeeded", "data": []},
        {"id": 7, "type": "payment_intent.succeeded", "data": {"object": {}}},
    ],
    ids=["no-id", "a-list", "data-not-an-object", "id-not-a-string"],
)
def test_a_signed_body_that_is_not_a_stripe_event_is_invalid_payload(settings, api, body):
    """Signed with the secret, but not an event: it was a 500 (KeyError 'id', or stripe's own
    AttributeError on a list), where the docs promise 400 invalid_payload (found by a probe)."""
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    answer = signed_webhook(api, body)
    assert (answer.status_code, answer.json()["code"]) == (400, "invalid_payload")
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize("body", [b"[" * 100_000 + b"]" * 100_000, b"not json"])
def test_an_unsigned_body_is_refused_for_its_signature_before_it_is_read(settings, api, body):
    """The signature is checked first: a body nested past the parser's depth, unsigned, was a
    500 (RecursionError) once the shape was read before it."""
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    answer = api.generic(
        "POST",
        "/api/v1/stripe/webhook",
        body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE="t=1,v1=00",
    )
    assert (answer.status_code, answer.json()["code"]) == (400, "invalid_signature")


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
    authenticate(pending_3ds_order)
    payload = intent_event("evt_standby", "payment_intent.succeeded", pending_3ds_order)
    with connection_on_a_standby():
        refused = signed_webhook(APIClient(), payload)
        connection.close_if_unusable_or_obsolete()  # the end of the request drops it

    assert (refused.status_code, refused.json()["code"]) == (503, "database_unavailable")
    assert not WebhookEvent.objects.exists()
    assert signed_webhook(APIClient(), payload).status_code == 200
    assert Order.objects.get().status == "completed"


POSTGRESQL_ONLY = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="row locks, deadlock detection and isolation levels are PostgreSQL's: the embedded "
    "SQLite locks the whole file",
)


@contextmanager
def order_held_by_another_transaction(then):
    """While the block runs, another transaction (on a thread of its own) locks the order row
    FOR UPDATE, runs ``then()`` and ends when ``then`` returns."""
    locked = threading.Event()

    def hold():
        try:
            with transaction.atomic():
                Order.objects.select_for_update().get()
                locked.set()
                then()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        held = pool.submit(hold)
        try:
            assert locked.wait(timeout=30)
            yield
        finally:
            held.result(timeout=60)  # raises here what the other transaction raised


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def wait_until_waiting_on_a_lock(pid: int) -> None:
    """Poll (from this thread's own connection) until backend ``pid`` waits on a lock."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
            if cursor.fetchone() == ("Lock",):
                return
        time.sleep(0.01)
    raise AssertionError(f"backend {pid} never waited on a lock")


def assert_busy_then_redelivered(answer, payload):
    """503 retry_later "the payment is busy", nothing stored; Stripe's redelivery pays."""
    assert (answer.status_code, answer.json()["code"]) == (503, "retry_later")
    assert not WebhookEvent.objects.exists()
    assert signed_webhook(APIClient(), payload).status_code == 200
    assert Order.objects.get().status == "completed"


@pytest.mark.django_db(transaction=True)
@POSTGRESQL_ONLY
def test_webhook_answers_503_while_the_order_is_locked(pending_3ds_order, settings):
    settings.STRIPE_WEBHOOK_LOCK_TIMEOUT_MS = 100
    authenticate(pending_3ds_order)
    payload = intent_event("evt_busy", "payment_intent.succeeded", pending_3ds_order)
    answered = threading.Event()
    with order_held_by_another_transaction(then=lambda: answered.wait(timeout=30)):
        busy = signed_webhook(APIClient(), payload)
        answered.set()
    assert_busy_then_redelivered(busy, payload)


@pytest.mark.django_db(transaction=True)
@POSTGRESQL_ONLY
def test_webhook_caught_in_a_deadlock_answers_retry_later(pending_3ds_order, settings):
    """A delivery that deadlocks with another transaction (one holding the order, then
    recording the same event) is ended by PostgreSQL's deadlock check (after deadlock_timeout,
    before the lock timeout) and answered as a lock held too long."""
    settings.STRIPE_WEBHOOK_LOCK_TIMEOUT_MS = 30_000  # the deadlock check ends it, not this
    authenticate(pending_3ds_order)
    payload = intent_event("evt_deadlock", "payment_intent.succeeded", pending_3ds_order)
    webhook_pid = backend_pid()  # the request runs on the test's own connection

    def record_the_same_event():
        wait_until_waiting_on_a_lock(webhook_pid)
        # Waits on the delivery's uncommitted row, which waits on this order: a cycle.
        WebhookEvent.objects.create(event_id="evt_deadlock", type="test")
        transaction.set_rollback(True)  # went on once the delivery was ended; leave no row

    with order_held_by_another_transaction(then=record_the_same_event):
        caught = signed_webhook(APIClient(), payload)
    assert_busy_then_redelivered(caught, payload)


@pytest.mark.django_db(transaction=True)
@POSTGRESQL_ONLY
def test_webhook_losing_a_serialization_race_answers_retry_later(pending_3ds_order):
    """On a database run at REPEATABLE READ (an operator's default_transaction_isolation), an
    order changed by another transaction after the delivery began cannot be locked by it:
    PostgreSQL's serialization failure, answered as a lock held too long."""
    authenticate(pending_3ds_order)
    payload = intent_event("evt_race", "payment_intent.succeeded", pending_3ds_order)
    webhook_pid = backend_pid()

    def change_the_order():
        wait_until_waiting_on_a_lock(webhook_pid)
        Order.objects.update(status=F("status"))  # a new row version, committed on return

    with connection.cursor() as cursor:
        cursor.execute("SET default_transaction_isolation = 'repeatable read'")
    try:
        with order_held_by_another_transaction(then=change_the_order):
            lost = signed_webhook(APIClient(), payload)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET default_transaction_isolation")
    assert_busy_then_redelivered(lost, payload)


def test_a_payment_event_reads_its_payment_intent_from_the_processor_once(
    pending_3ds_order, api, monkeypatch
):
    read = []
    real = payments.payment_status

    def counted(payment_intent_id):
        read.append(payment_intent_id)
        return real(payment_intent_id)

    monkeypatch.setattr(payments, "payment_status", counted)
    authenticate(pending_3ds_order)
    succeeded = intent_event("evt_once", "payment_intent.succeeded", pending_3ds_order)
    assert signed_webhook(api, succeeded).status_code == 200
    assert Order.objects.get().status == "completed"
    assert read == [pending_3ds_order["payment_intent_id"]]
