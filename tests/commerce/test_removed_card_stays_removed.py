"""A card the customer removed is never saved again by its own setup: Stripe's late
``setup_intent.succeeded`` for it is acknowledged and changes nothing, and the save POST sent
again is refused. It came back as the default card, and the tenant's unpaid invoices were
queued for charging on it."""

import pytest

from billing.models import NewCardCharge, PaymentMethod
from edgeplug.audit.models import AuditEvent
from tests.commerce.conftest import (
    confirmed_setup,
    event,
    save_card,
    signed_webhook,
    uncollectible_invoice,
)

pytestmark = pytest.mark.django_db

CARDS = "/api/v1/billing/payment-methods"


def _card_actions() -> list[str]:
    events = AuditEvent.objects.filter(action__startswith="payment_method").order_by("pk")
    return list(events.values_list("action", flat=True))


def _saved_then_removed(client) -> dict:
    """The customer saves a card (the tenant's first: its default) and removes it."""
    started = confirmed_setup(client)
    saved = client.post(CARDS, {"setup_intent": started["setup_intent"]}, format="json")
    assert saved.status_code == 201, saved.json()
    assert client.delete(f"{CARDS}/{saved.json()['id']}").status_code == 204
    return started


def test_the_late_setup_webhook_of_a_removed_card_is_acknowledged_and_changes_nothing(
    stripe_on, customer, api
):
    client, membership = customer
    uncollectible_invoice(membership.tenant)
    started = _saved_then_removed(client)
    queued = NewCardCharge.objects.count()  # the first card's try of the unpaid invoice

    late = event(
        "evt_setup_late",
        "setup_intent.succeeded",
        {"id": started["setup_intent"], "object": "setup_intent", "customer": started["customer"]},
    )
    answer = signed_webhook(api, late)

    assert answer.status_code == 200, answer.json()
    assert answer.json()["outcome"] == "payment method removed"
    assert client.get(CARDS).json()["count"] == 0
    assert not PaymentMethod.objects.filter(tenant=membership.tenant).exists()
    assert _card_actions() == ["payment_method_added", "payment_method_removed"]
    assert NewCardCharge.objects.count() == queued


def test_the_save_post_sent_again_after_the_card_was_removed_is_refused(stripe_on, customer):
    client, membership = customer
    started = _saved_then_removed(client)

    again = client.post(CARDS, {"setup_intent": started["setup_intent"]}, format="json")

    assert again.status_code == 409, again.json()
    assert again.json()["code"] == "payment_method_removed"
    assert "removed" in again.json()["detail"] and "new card" in again.json()["detail"]
    assert not PaymentMethod.objects.filter(tenant=membership.tenant).exists()
    assert _card_actions() == ["payment_method_added", "payment_method_removed"]
    # A card set up anew is saved, and is the default.
    assert save_card(client)["is_default"] is True


def test_the_save_post_sent_again_for_a_kept_card_still_answers_that_card(stripe_on, customer):
    client, _ = customer
    started = confirmed_setup(client)
    body = {"setup_intent": started["setup_intent"]}
    first = client.post(CARDS, body, format="json")
    again = client.post(CARDS, body, format="json")
    assert (again.status_code, again.json()["id"]) == (201, first.json()["id"])
    assert _card_actions() == ["payment_method_added"]
