"""A saved card detached in Stripe (the dashboard, support; Stripe tells by
``payment_method.detached``) is forgotten as a removed one: no longer listed nor the default,
and the newest card left becomes the default. It stayed the default, and every charge on it
failed."""

import pytest

from billing.models import PaymentMethod
from edgeplug.audit.models import AuditEvent
from tests.commerce.conftest import event, save_card, signed_webhook, stripe_client

pytestmark = pytest.mark.django_db

CARDS = "/api/v1/billing/payment-methods"


def detached_event(event_id: str, stripe_id: str) -> dict:
    card = {"id": stripe_id, "object": "payment_method", "customer": None, "type": "card"}
    return event(event_id, "payment_method.detached", card)


def default_cards(client) -> list[int]:
    return [card["id"] for card in client.get(CARDS).json()["results"] if card["is_default"]]


def test_a_card_detached_in_stripe_is_no_longer_shown_as_the_default(stripe_on, customer, api):
    client, _ = customer
    card = save_card(client)
    stripe_id = PaymentMethod.objects.get(pk=card["id"]).stripe_id
    stripe_client().v1.payment_methods.detach(stripe_id)

    answer = signed_webhook(api, detached_event("evt_pm_detached", stripe_id))

    assert answer.status_code == 200, answer.json()
    assert answer.json()["outcome"] == f"card {stripe_id} forgotten"
    assert client.get(CARDS).json()["count"] == 0
    assert AuditEvent.objects.filter(action="payment_method_detached").count() == 1


def test_the_newest_card_left_becomes_the_default(stripe_on, customer, api):
    client, _ = customer
    first = save_card(client)
    second = save_card(client)
    assert default_cards(client) == [first["id"]]
    stripe_id = PaymentMethod.objects.get(pk=first["id"]).stripe_id
    stripe_client().v1.payment_methods.detach(stripe_id)

    signed_webhook(api, detached_event("evt_pm_detached", stripe_id))

    assert default_cards(client) == [second["id"]]


def test_a_card_still_attached_or_removed_here_is_left_alone(stripe_on, customer, api):
    client, _ = customer
    kept = save_card(client)
    removed = save_card(client)
    kept_id = PaymentMethod.objects.get(pk=kept["id"]).stripe_id
    removed_id = PaymentMethod.objects.get(pk=removed["id"]).stripe_id
    assert client.delete(f"{CARDS}/{removed['id']}").status_code == 204

    still = signed_webhook(api, detached_event("evt_not_detached", kept_id))
    ours = signed_webhook(api, detached_event("evt_removed_here", removed_id))

    assert (still.json()["outcome"], ours.json()["outcome"]) == ("no card", "no card")
    assert default_cards(client) == [kept["id"]]
    assert not AuditEvent.objects.filter(action="payment_method_detached").exists()
