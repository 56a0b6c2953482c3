"""An operation that takes no body (revoking a device, rotating its token) refuses one, as a
body field an operation does not take is refused (``core.serializers.refuse_body``): it went
ahead and dropped what its client meant it to read ({"reason": "stolen"}), even on a body
that was not JSON at all (found by a review). What clients send for "no body" still goes
through."""

import pytest

from marketplace.models import Device

pytestmark = pytest.mark.django_db


@pytest.fixture
def device(member_client):
    client, _ = member_client("admin")
    body = {"name": "gw", "hardware_id": "hw-1", "core": "cortex-m4"}
    registered = client.post("/api/v1/devices", body, format="json").json()["device"]
    return client, registered


def _unchanged(registered) -> bool:
    device = Device.objects.get(pk=registered["id"])
    return device.revoked_at is None and device.token_prefix == registered["token_prefix"]


@pytest.mark.parametrize("action", ["revoke", "rotate-token"])
@pytest.mark.parametrize(
    ("body", "content_type", "code"),
    [
        (b'{"reason": "stolen"}', "application/json", "unknown_field"),
        (b'{"oops": ', "application/json", "malformed_json"),
        (b"[1]", "application/json", "malformed_request"),
        (b"reason=stolen", "application/x-www-form-urlencoded", "unknown_field"),
        (b'"stolen"', "application/json", "malformed_request"),
    ],
)
def test_a_body_is_refused_and_nothing_is_done(device, action, body, content_type, code):
    client, registered = device
    url = f"/api/v1/devices/{registered['id']}/{action}"

    response = client.post(url, data=body, content_type=content_type)

    assert (response.status_code, response.json()["code"]) == (400, code)
    assert _unchanged(registered)
    if code == "unknown_field" and content_type == "application/json":
        assert response.json()["errors"] == {"reason": ["Unknown field."]}


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(b"", "application/json"), (b"{}", "application/json"), (b"null", "application/json")],
)
def test_what_clients_send_for_no_body_goes_through(device, body, content_type):
    client, registered = device
    url = f"/api/v1/devices/{registered['id']}/revoke"
    response = client.post(url, data=body, content_type=content_type)
    assert response.status_code == 200, response.json()
    assert Device.objects.get(pk=registered["id"]).revoked_at is not None


def test_a_form_without_fields_goes_through(device):
    client, registered = device
    response = client.post(f"/api/v1/devices/{registered['id']}/rotate-token")  # multipart, {}
    assert response.status_code == 200, response.json()


def test_a_delete_refuses_a_body_too(device):
    """Every operation that takes none: removing a saved card, a member, a deployment or an
    agent as well (a DELETE with {"reason": ...} went ahead and dropped it)."""
    client, registered = device
    url = f"/api/v1/devices/{registered['id']}/deployments/999999"
    assert client.delete(url, {"reason": "x"}, format="json").status_code == 404  # found first
    for member in client.get("/api/v1/tenant/members").json()["results"]:
        response = client.delete(
            f"/api/v1/tenant/members/{member['id']}", {"reason": "x"}, format="json"
        )
        assert (response.status_code, response.json()["code"]) == (400, "unknown_field")
