"""Stripe delivers a paid order's webhooks to the real web server, which is then stopped and
started again (a deploy); Stripe keeps resending: duplicates, some at once, and older events
after newer ones. The order ends with one payment and one entitlement, each event id is
handled once, and every delivery is answered 200 so Stripe stops resending."""

import hashlib
import hmac
import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from billing.models import WebhookEvent
from edgeplug.audit.models import AuditEvent
from marketplace.models import Entitlement, Order
from tests.commerce.conftest import (
    WEBHOOK_SECRET,
    authenticate,
    event,
    save_card,
    stripe_client,
)
from tests.faults.components import web_env
from tests.gunicorn_server import gunicorn

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _deliver(url: str, payload: dict) -> requests.Response:
    """POST the event as Stripe does, signed with the endpoint's secret."""
    body = json.dumps(payload).encode()
    t = int(time.time())
    signature = hmac.new(
        WEBHOOK_SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256
    ).hexdigest()
    return requests.post(
        f"{url}/api/v1/stripe/webhook",
        data=body,
        headers={"Content-Type": "application/json", "Stripe-Signature": f"t={t},v1={signature}"},
        timeout=30,
    )


def test_duplicate_and_reordered_webhooks_across_a_restart_pay_once(
    tmp_path, stripe_on, customer, agent, make_plan
):
    client, _ = customer
    plan = make_plan("one_time", currency="USD", amount=1000)
    save_card(client, "4000002760003184")  # a card that asks for 3-D Secure
    order = client.post(
        "/api/v1/orders",
        {"agent": agent.pk, "plan": plan.pk, "seats": 1},
        format="json",
        HTTP_IDEMPOTENCY_KEY="restart",
    ).json()
    assert order["status"] == "requires_action"
    authenticate(order)  # the customer passes the challenge; Stripe now sends its events

    intent = {"id": order["payment_intent_id"], "object": "payment_intent"}
    requires_action = event("evt_1_action", "payment_intent.requires_action", intent)
    succeeded = event("evt_2_ok", "payment_intent.succeeded", intent)
    stale_failure = event("evt_0_fail", "payment_intent.payment_failed", intent)
    env = web_env(
        tmp_path,
        STRIPE_API_KEY="sk_test_edgeplug",
        STRIPE_API_BASE=stripe_on,
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
    )

    with gunicorn(tmp_path, workers=2, env=env) as first:
        for payload in (requires_action, succeeded):
            answered = _deliver(first.url, payload)
            assert answered.status_code == 200, answered.text
    assert Order.objects.get().status == "completed"

    with gunicorn(tmp_path, workers=2, env=env) as restarted:
        # Stripe did not see the first answers (the restart), so it resends: the same success
        # four times at once, then the older events after the newer one.
        with ThreadPoolExecutor(4) as stripe:
            answers = list(stripe.map(lambda _: _deliver(restarted.url, succeeded), range(4)))
        answers += [_deliver(restarted.url, p) for p in (stale_failure, requires_action)]
        answers.append(_deliver(restarted.url, succeeded))
        assert [a.status_code for a in answers] == [200] * 7, [a.text for a in answers]

    paid = Order.objects.get()
    assert paid.status == "completed" and paid.failure_code == ""
    assert Entitlement.objects.filter(order=paid).count() == 1
    assert AuditEvent.objects.filter(action="entitlement_granted").count() == 1
    assert sorted(WebhookEvent.objects.values_list("event_id", flat=True)) == [
        "evt_0_fail",
        "evt_1_action",
        "evt_2_ok",
    ]
    # One payment at Stripe: the intent succeeded with one charge, for the order's amount.
    stripe = stripe_client()
    assert stripe.v1.payment_intents.retrieve(order["payment_intent_id"]).status == "succeeded"
    charges = [
        (c.amount, c.status)
        for c in stripe.v1.charges.list(params={"limit": 100}).data
        if c.payment_intent == order["payment_intent_id"]
    ]
    assert charges == [(1000, "succeeded")]
