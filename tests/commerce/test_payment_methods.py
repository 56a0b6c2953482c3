"""Customers save cards through a SetupIntent; cards are per tenant."""

from datetime import timedelta
from functools import partial

import pytest
import time_machine
from django.db import connection, transaction

from billing import payments
from billing.models import NewCardCharge, PaymentMethod, StripeCustomer
from edgeplug.audit.models import AuditEvent
from tests.commerce.conftest import (
    confirmed_setup,
    event,
    place_order,
    save_card,
    signed_webhook,
    uncollectible_invoice,
)
from tests.concurrency import in_thread, needs_row_locks, wait_for_blocked_backend

pytestmark = pytest.mark.django_db


def test_saved_card_is_listed_and_first_one_is_default(stripe_on, customer):
    client, _ = customer
    first = save_card(client)
    second = save_card(client, "5555555555554444")
    assert (first["brand"], first["last4"], first["is_default"]) == ("visa", "4242", True)
    assert (second["last4"], second["is_default"]) == ("4444", False)
    made = client.post(f"/api/v1/billing/payment-methods/{second['id']}/default")
    assert made.json()["is_default"] is True
    listed = client.get("/api/v1/billing/payment-methods").json()["results"]
    assert [(m["last4"], m["is_default"]) for m in listed] == [("4444", True), ("4242", False)]
    # Only POST makes a card the default: a DELETE there removed the card (it was inherited).
    assert (
        client.delete(f"/api/v1/billing/payment-methods/{second['id']}/default").status_code == 405
    )
    assert PaymentMethod.objects.filter(pk=second["id"]).exists()


def test_removing_the_default_card_makes_the_newest_left_the_default(
    stripe_on, customer, agent, make_plan
):
    """A tenant with a card is never told to add one: removing the default promotes the
    newest card left (of two), and a paid order is charged to it. Removing another card
    leaves the default alone."""
    client, _ = customer
    oldest = save_card(client)
    newer = save_card(client, "5555555555554444")
    newest = save_card(client, "4000056655665556")
    client.post(f"/api/v1/billing/payment-methods/{oldest['id']}/default")
    cards = "/api/v1/billing/payment-methods"

    assert client.delete(f"{cards}/{oldest['id']}").status_code == 204

    listed = client.get(cards).json()["results"]
    assert [(m["id"], m["is_default"]) for m in listed] == [
        (newest["id"], True),
        (newer["id"], False),
    ]
    assert client.delete(f"{cards}/{newer['id']}").status_code == 204  # not the default
    assert PaymentMethod.objects.get(is_default=True).pk == newest["id"]
    plan = make_plan("one_time", currency="EUR", amount=900)
    assert place_order(client, agent, plan, "after-removal").status_code == 201
    # Only the promotion: the oldest card, the first saved, was the default already.
    assert AuditEvent.objects.filter(action="payment_method_default").count() == 1


def test_making_the_default_card_default_again_records_and_charges_nothing(stripe_on, customer):
    """The docs say it does nothing: it audited ``payment_method_default`` each time."""
    client, membership = customer
    uncollectible_invoice(membership.tenant)
    card = save_card(client)  # the first card: the default, its try of the invoice queued
    queued = NewCardCharge.objects.count()

    again = client.post(f"/api/v1/billing/payment-methods/{card['id']}/default")

    assert (again.status_code, again.json()["is_default"]) == (200, True)
    assert not AuditEvent.objects.filter(action="payment_method_default").exists()
    assert NewCardCharge.objects.count() == queued


def test_unconfirmed_setup_is_refused(stripe_on, customer):
    client, _ = customer
    started = client.post("/api/v1/billing/payment-methods/setup").json()
    response = client.post(
        "/api/v1/billing/payment-methods", {"setup_intent": started["setup_intent"]}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (409, "setup_incomplete")


def test_another_tenants_setup_intent_is_unknown_and_cards_are_404(stripe_on, member_client):
    alice, _ = member_client("admin")
    bob, _ = member_client("admin")
    card = save_card(alice)
    started = alice.post("/api/v1/billing/payment-methods/setup").json()
    stolen = bob.post(
        "/api/v1/billing/payment-methods", {"setup_intent": started["setup_intent"]}, format="json"
    )
    missing = bob.post(
        "/api/v1/billing/payment-methods", {"setup_intent": "seti_missing"}, format="json"
    )
    for refused, setup_intent in ((stolen, started["setup_intent"]), (missing, "seti_missing")):
        assert refused.status_code == 400
        assert refused.json() == {
            "code": "unknown_setup_intent",
            "detail": f"setup_intent: there is no setup intent {setup_intent!r} that you can see.",
            "field": "setup_intent",
        }
    assert bob.delete(f"/api/v1/billing/payment-methods/{card['id']}").status_code == 404
    assert bob.get("/api/v1/billing/payment-methods").json()["count"] == 0
    assert alice.delete(f"/api/v1/billing/payment-methods/{card['id']}").status_code == 204
    assert not PaymentMethod.objects.exists()


def test_setup_intent_webhook_saves_the_card_once(stripe_on, customer, api):
    client, membership = customer
    started = confirmed_setup(client)
    payload = event(
        "evt_setup_1",
        "setup_intent.succeeded",
        {"id": started["setup_intent"], "object": "setup_intent", "customer": started["customer"]},
    )
    assert signed_webhook(api, payload).status_code == 200
    assert signed_webhook(api, payload).json()["outcome"] == "duplicate"
    assert PaymentMethod.objects.filter(tenant=membership.tenant).count() == 1


def test_operators_cannot_manage_cards(stripe_on, member_client):
    operator, _ = member_client("operator")
    assert operator.post("/api/v1/billing/payment-methods/setup").status_code == 403


@needs_row_locks
@pytest.mark.django_db(transaction=True)  # a held transaction and a request on two connections
def test_two_members_making_two_cards_the_default_at_once_end_with_one(stripe_on, customer):
    """Each saw the old default and cleared it; the second then broke "one default card per
    tenant" (a 500). The second now waits for the first and makes its card the default."""
    client, _ = customer
    save_card(client)
    first_choice = save_card(client, "5555555555554444")
    second_choice = save_card(client, "4000056655665556")
    answers, errors = [], []
    url = f"/api/v1/billing/payment-methods/{second_choice['id']}/default"

    with transaction.atomic():  # the first member's request, not yet committed
        payments.make_default(PaymentMethod.objects.get(pk=first_choice["id"]))
        second = in_thread(partial(client.post, url), answers, errors)
        wait_for_blocked_backend()
    second.join()

    assert not errors, errors
    [answer] = answers
    assert answer.status_code == 200, answer.content
    defaults = PaymentMethod.objects.filter(is_default=True).values_list("pk", flat=True)
    assert list(defaults) == [second_choice["id"]]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="rewinds a Postgres sequence")
def test_a_tenant_given_the_id_of_one_lost_in_a_restore_can_save_a_card(stripe_on, member_client):
    """After a restore (pg_restore, point-in-time recovery) the id sequences go back, while
    Stripe remembers every idempotency key for 24 hours: a new tenant with a lost one's id
    must not send that tenant's customer key (Stripe: ``idempotency_error``, a 502 for a
    day; or, with the same parameters, the lost tenant's customer)."""
    after_the_cut_over = payments.KEYS_NAME_CREATION_SINCE + timedelta(days=1)
    with time_machine.travel(after_the_cut_over, tick=True):
        lost_client, lost = member_client("admin", name="Lost Tenant GmbH")
        assert lost_client.post("/api/v1/billing/payment-methods/setup").status_code == 201
        lost_customer = StripeCustomer.objects.get(tenant_id=lost.tenant_id).customer_id
        # The backup taken just before that tenant signed up is restored: its rows are gone
        # and the tenant id sequence is back where the backup left it.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET session_replication_role = replica")
            for table in ("billing_stripecustomer", "tenancy_membership"):
                cursor.execute(f"DELETE FROM {table} WHERE tenant_id = %s", [lost.tenant_id])
            cursor.execute("DELETE FROM tenancy_tenant WHERE id = %s", [lost.tenant_id])
            cursor.execute("SET session_replication_role = origin")
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('tenancy_tenant', 'id'), %s, false)",
                [lost.tenant_id],
            )

        client, membership = member_client("admin", name="Another Customer AG")
        assert membership.tenant_id == lost.tenant_id
        setup = client.post("/api/v1/billing/payment-methods/setup")
    assert setup.status_code == 201, setup.json()
    customer = StripeCustomer.objects.get(tenant=membership.tenant).customer_id
    assert customer != lost_customer
