"""The whole way through: a customer saves a test card, buys a paid agent (3-D Secure),
downloads it, registers a device, deploys the agent, and the device sees its assignment."""

import pytest
from rest_framework.test import APIClient

from tests.commerce.conftest import authenticate, save_card

pytestmark = pytest.mark.django_db


def test_buy_download_register_deploy_and_see_the_assignment(
    stripe_on, customer, vendor, agent, published, certificate
):
    plans_url = f"/api/v1/vendor/agents/{agent.pk}/plans"
    plan = vendor.client.post(
        plans_url,
        {
            "key": "site",
            "name": "Site licence",
            "kind": "one_time",
            "currency": "EUR",
            "amount": 4900,
        },
        format="json",
    ).json()
    client, _ = customer
    catalogue = client.get("/api/v1/agents?q=pump&price_model=one_time").json()
    assert [a["id"] for a in catalogue["results"]] == [agent.pk]

    save_card(client, "4000002760003184")  # a card that asks for 3-D Secure
    order = client.post(
        "/api/v1/orders",
        {"agent": agent.pk, "plan": plan["id"], "seats": 2},
        format="json",
        HTTP_IDEMPOTENCY_KEY="journey",
    ).json()
    assert order["status"] == "requires_action" and order["client_secret"]
    download = f"/api/v1/agents/{agent.pk}/versions/1.0.0/download"
    assert client.get(download).status_code == 403
    authenticate(order)  # the customer passes the challenge in the browser
    order = client.get(f"/api/v1/orders/{order['id']}").json()
    assert (order["status"], order["amount"]) == ("completed", 9800)

    assert client.get(download).status_code == 200
    device = client.post(
        "/api/v1/devices",
        {"name": "press 7", "hardware_id": "stm32-0042", "core": "cortex-m4"},
        format="json",
    ).json()
    deployed = client.post(
        f"/api/v1/devices/{device['device']['id']}/deployments",
        {"agent": agent.pk, "version": "1.0.0"},
        format="json",
    )
    assert deployed.status_code == 201, deployed.json()

    device_api = APIClient()
    device_api.credentials(HTTP_AUTHORIZATION=f"Device {device['token']}")
    assignments = device_api.get("/api/v1/device/assignments").json()
    assert [(a["agent"], a["version"], a["certificate_id"]) for a in assignments["run"]] == [
        ("pump-anomaly", "1.0.0", certificate.pk)
    ]
