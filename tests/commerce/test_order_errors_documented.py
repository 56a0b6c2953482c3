"""What placing and reading an order can answer besides the order is in the OpenAPI schema,
with the body it really has: 402 ``{code, detail}`` (no card, an overdue invoice), 402
``{code, detail, order}`` (declined, failed) and 502 ``payment_processor_error``."""

import pytest

from billing.models import PaymentMethod
from tests.commerce.conftest import place_order, save_card, uncollectible_invoice
from tests.openapi_conformance import assert_documented

pytestmark = pytest.mark.django_db

PLACE = "POST /api/v1/orders"
READ = "GET /api/v1/orders/{id}"
DECLINED_ON_CHARGE = "4000000000000341"


@pytest.fixture
def one_time(make_plan):
    return make_plan("one_time", currency="EUR", amount=1500)


def test_placing_without_a_card_is_a_documented_402(stripe_on, customer, agent, one_time):
    client, _ = customer
    response = place_order(client, agent, one_time, "no-card")
    assert (response.status_code, response.json()["code"]) == (402, "payment_method_required")
    assert_documented(response, PLACE)


def test_placing_while_an_invoice_is_uncollectible_is_a_documented_402(
    stripe_on, customer, agent, one_time
):
    client, membership = customer
    save_card(client)
    overdue = uncollectible_invoice(membership.tenant)
    response = place_order(client, agent, one_time, "overdue")
    assert (response.status_code, response.json()["code"]) == (402, "payment_overdue")
    assert overdue.number in response.json()["detail"]
    assert_documented(response, PLACE)


def test_a_declined_card_is_a_documented_402_with_the_failed_order(
    stripe_on, customer, agent, one_time
):
    client, _ = customer
    save_card(client, DECLINED_ON_CHARGE)
    response = place_order(client, agent, one_time, "declined")
    assert (response.status_code, response.json()["code"]) == (402, "card_declined")
    assert response.json()["order"]["status"] == "failed"
    assert_documented(response, PLACE)


def test_a_processor_outage_and_a_card_removed_since_are_documented_when_reading_the_order(
    processor, customer, agent, one_time
):
    client, _ = customer
    save_card(client)
    processor.down()
    placed = place_order(client, agent, one_time, "outage")
    assert (placed.status_code, placed.json()["code"]) == (502, "payment_processor_error")
    assert_documented(placed, PLACE)
    (order,) = client.get("/api/v1/orders").json()["results"]
    assert order["status"] == "pending"

    read = client.get(f"/api/v1/orders/{order['id']}")  # tries the charge again
    assert (read.status_code, read.json()["code"]) == (502, "payment_processor_error")
    assert_documented(read, READ)

    PaymentMethod.objects.all().delete()  # removed meanwhile (docs/commerce.md)
    read = client.get(f"/api/v1/orders/{order['id']}")
    assert (read.status_code, read.json()["code"]) == (402, "payment_method_required")
    assert_documented(read, READ)


def test_reading_an_order_is_documented(stripe_on, customer, agent, one_time):
    client, _ = customer
    save_card(client)
    placed = place_order(client, agent, one_time, "paid")
    assert placed.status_code == 201
    assert_documented(placed, PLACE)
    assert_documented(client.get(f"/api/v1/orders/{placed.json()['id']}"), READ)
