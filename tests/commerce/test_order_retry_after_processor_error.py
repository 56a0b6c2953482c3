"""Which Stripe idempotency key the next try of a one-time order's charge sends after the
processor failed (502 ``payment_processor_error``).

Stripe saves the answer to a request that began executing under its key, errors included,
and gives it back to every retry with that key. So once it refused the request itself (a 4xx
such as a card it no longer knows), the attempt counts and the next try takes the next key,
else the order would answer the same 502 forever, even after the customer replaced the card.
When no answer came (the processor unreachable, or the response lost after it charged), or a
5xx (it may have charged), the next try sends the same key: Stripe then answers with the
charge it already made, never a second."""

from datetime import timedelta

import pytest
import stripe
import time_machine

from billing import payments
from billing.errors import PaymentProcessorError
from billing.models import PaymentMethod, StripeCustomer
from marketplace.models import Entitlement, Order
from marketplace.orders import stripe_idempotency_key
from tests.commerce.conftest import place_order, save_card, stripe_client

pytestmark = pytest.mark.django_db


def intents_of(tenant) -> list:
    """The PaymentIntents localstripe holds for the tenant's customer."""
    customer = StripeCustomer.objects.get(tenant=tenant).customer_id
    listed = stripe_client().v1.payment_intents.list(params={"limit": 100})
    return [intent for intent in listed.auto_paging_iter() if intent.customer == customer]


def ask_again(door: str, client, order_id: int, agent, plan, key: str):
    """The customer asks for the order again: reads it, or repeats its POST (same key)."""
    if door == "read":
        return client.get(f"/api/v1/orders/{order_id}")
    return place_order(client, agent, plan, key)


@pytest.mark.parametrize("door", ["read", "replay"])
def test_a_charge_the_processor_refused_is_made_on_a_new_key_once_the_card_is_replaced(
    door, stripe_on, customer, agent, make_plan
):
    client, membership = customer
    plan = make_plan("one_time", currency="EUR", amount=1500)
    old_card = save_card(client)
    # The saved card no longer exists at the processor: it refuses the charge (404, a 4xx
    # it saves under the request's idempotency key and answers again to the same key).
    stripe_id = PaymentMethod.objects.get(pk=old_card["id"]).stripe_id
    stripe_client().raw_request("delete", f"/v1/payment_methods/{stripe_id}")
    placed = place_order(client, agent, plan, "card-refused")
    assert (placed.status_code, placed.json()["code"]) == (502, "payment_processor_error")
    order = Order.objects.get()
    # The refused attempt counts (committed), so the next try takes the next key.
    assert (order.status, order.payment_intent_id, order.payment_attempt) == ("pending", "", 1)

    # The customer replaces the card: a new one, made the default.
    new_card = save_card(client)
    made_default = client.post(f"/api/v1/billing/payment-methods/{new_card['id']}/default")
    assert made_default.status_code == 200, made_default.json()

    again = ask_again(door, client, order.pk, agent, plan, "card-refused")
    assert again.status_code == 200, again.json()
    assert again.json()["status"] == "completed"
    order.refresh_from_db()
    assert (order.status, order.payment_attempt) == ("completed", 2)
    (intent,) = intents_of(membership.tenant)  # exactly one charge
    assert (intent.id, intent.status, intent.amount) == (order.payment_intent_id, "succeeded", 1500)
    assert intent.payment_method == PaymentMethod.objects.get(pk=new_card["id"]).stripe_id
    assert Entitlement.objects.filter(order=order).count() == 1


@pytest.fixture
def answer_lost_once(monkeypatch):
    """The first PaymentIntent creation reaches the processor, which charges, and its answer
    never arrives (a read timeout): the SDK raises a connection error."""
    real_create = stripe.PaymentIntentService.create
    calls = []

    def create(self, *args, **kwargs):
        intent = real_create(self, *args, **kwargs)
        calls.append(kwargs.get("options", {}).get("idempotency_key"))
        if len(calls) == 1:
            raise stripe.APIConnectionError("Read timed out.")
        return intent

    monkeypatch.setattr(stripe.PaymentIntentService, "create", create)
    return calls


@pytest.mark.parametrize("door", ["read", "replay"])
def test_a_charge_whose_answer_was_lost_is_asked_again_with_the_same_key_and_made_once(
    door, stripe_on, customer, agent, make_plan, answer_lost_once
):
    client, membership = customer
    plan = make_plan("one_time", currency="EUR", amount=1500)
    save_card(client)
    placed = place_order(client, agent, plan, "answer-lost")
    assert (placed.status_code, placed.json()["code"]) == (502, "payment_processor_error")
    assert "could not be reached" in placed.json()["detail"]
    order = Order.objects.get()
    # Nothing is counted: the charge may have been made (it was), so the key is kept.
    assert (order.status, order.payment_intent_id, order.payment_attempt) == ("pending", "", 0)
    (charged,) = intents_of(membership.tenant)
    assert charged.status == "succeeded"

    again = ask_again(door, client, order.pk, agent, plan, "answer-lost")
    assert (again.status_code, again.json()["status"]) == (200, "completed")
    order.refresh_from_db()
    assert (order.payment_intent_id, order.payment_attempt) == (charged.id, 1)
    assert answer_lost_once == [stripe_idempotency_key(order)] * 2  # the same key
    assert [intent.id for intent in intents_of(membership.tenant)] == [charged.id]  # one charge
    assert Entitlement.objects.filter(order=order).count() == 1


@pytest.mark.parametrize(
    ("placed_at", "first_key"),
    [
        (-timedelta(minutes=1), "edgeplug-order-{pk}-attempt-1"),
        (timedelta(minutes=1), "edgeplug-order-{pk}-{created}-attempt-1"),
    ],
    ids=["placed-before-the-key-cut-over", "placed-after-it"],
)
def test_a_charge_whose_answer_was_lost_is_asked_again_with_its_first_key_across_the_cut_over(
    placed_at, first_key, stripe_on, member_client, agent, make_plan, answer_lost_once
):
    """Keys name the order's creation time from ``KEYS_NAME_CREATION_SINCE`` on (an order id
    given again after a restore is another key). An order placed before it keeps its first
    key when it is asked again after it: a new key could charge it twice."""
    with time_machine.travel(payments.KEYS_NAME_CREATION_SINCE + placed_at, tick=False) as clock:
        client, membership = member_client("admin")
        plan = make_plan("one_time", currency="EUR", amount=1500)
        save_card(client)
        placed = place_order(client, agent, plan, "answer-lost-at-the-cut-over")
        assert (placed.status_code, placed.json()["code"]) == (502, "payment_processor_error")
        order = Order.objects.get()
        clock.shift(timedelta(minutes=2))  # past the cut-over, for the order placed before it
        again = client.get(f"/api/v1/orders/{order.pk}")
    assert (again.status_code, again.json()["status"]) == (200, "completed")
    assert (
        answer_lost_once
        == [first_key.format(pk=order.pk, created=payments.key_time(order.created_at))] * 2
    )
    (charged,) = intents_of(membership.tenant)  # one charge
    assert (charged.id, charged.status) == (Order.objects.get().payment_intent_id, "succeeded")


def test_an_unreachable_processor_keeps_the_key_and_the_order_is_charged_once_it_is_back(
    processor, customer, agent, make_plan
):
    client, membership = customer
    plan = make_plan("one_time", currency="EUR", amount=1500)
    save_card(client)
    processor.down()
    placed = place_order(client, agent, plan, "processor-down")
    assert (placed.status_code, placed.json()["code"]) == (502, "payment_processor_error")
    order = Order.objects.get()
    assert (order.status, order.payment_attempt) == ("pending", 0)
    retried = client.get(f"/api/v1/orders/{order.pk}")
    assert (retried.status_code, retried.json()["code"]) == (502, "payment_processor_error")
    assert Order.objects.get().payment_attempt == 0

    processor.up()
    read = client.get(f"/api/v1/orders/{order.pk}")
    assert (read.status_code, read.json()["status"]) == (200, "completed")
    order.refresh_from_db()
    assert order.payment_attempt == 1
    (intent,) = intents_of(membership.tenant)
    assert intent.id == order.payment_intent_id


def _raised(error: stripe.StripeError) -> PaymentProcessorError:
    @payments._processor_call("charging the card")
    def call():
        raise error

    with pytest.raises(PaymentProcessorError) as caught:
        call()
    return caught.value


def _api_error(cls, status: int, **kwargs) -> stripe.StripeError:
    return cls("refused", http_status=status, **kwargs)


@pytest.mark.parametrize(
    ("error", "key_spent"),
    [
        # Answered, and saved under the key (replayed to every retry with it): a new key.
        pytest.param(_api_error(stripe.InvalidRequestError, 400, param=None), True, id="400"),
        pytest.param(_api_error(stripe.InvalidRequestError, 404, param="x"), True, id="404"),
        pytest.param(_api_error(stripe.CardError, 402, param=None, code="x"), True, id="402"),
        # Stripe may have charged: a new key could charge twice (the first intent's webhook
        # finding no order); the same key is retried until Stripe forgets it.
        pytest.param(_api_error(stripe.APIError, 500), False, id="500"),
        # Answered before anything ran (not saved), and not the customer's doing: the same
        # key is safe, and a failed charge attempt would blame the customer.
        pytest.param(_api_error(stripe.AuthenticationError, 401), False, id="401"),
        pytest.param(_api_error(stripe.RateLimitError, 429), False, id="429"),
        # No answer: the charge may have been made; only the same key cannot make another.
        pytest.param(stripe.APIConnectionError("Read timed out."), False, id="no-answer"),
        # The key is in use by a request still running, or was used with other parameters:
        # what that request did is unknown, so the key is kept.
        pytest.param(_api_error(stripe.APIError, 409), False, id="409-key-in-use"),
        pytest.param(_api_error(stripe.IdempotencyError, 400), False, id="idempotency-error"),
    ],
)
def test_which_processor_errors_spend_the_idempotency_key(error, key_spent):
    assert _raised(error).key_spent is key_spent
