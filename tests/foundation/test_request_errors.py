"""Malformed, oversized and unexpected requests get a clear 4xx with a stable code."""

import pytest

from tests.factories import MembershipFactory
from tests.vendors import package

pytestmark = pytest.mark.django_db
TOKEN = "/api/v1/auth/token"


def test_malformed_json(api):
    response = api.post(TOKEN, data="{not json", content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (400, "malformed_json")


@pytest.mark.parametrize(
    "body",
    [
        '{"email": "a@b.c", "email": "mallory@b.c", "password": "x"}',
        '{"email": "a@b.c", "password": "x", "password": "y"}',
        # Python's json took the last of each, what another reader may not (a proxy, a log).
        '{"email": "a@b.c", "password": "x", "extra": {"k": 1, "k": 2}}',
    ],
)
def test_a_key_twice_in_one_object_is_refused_not_the_last_kept(api, body):
    response = api.post(TOKEN, data=body, content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (400, "duplicate_json_key")
    assert "appears twice" in response.json()["detail"]


@pytest.mark.parametrize("number", ["1e400", "-1e400"])
def test_a_number_past_a_double_is_malformed_not_infinity(api, number):
    """json.loads read 1e400 as infinity, which no JSON column and no client holds."""
    body = '{"email": "a@b.c", "password": "x", "n": ' + number + "}"
    response = api.post(TOKEN, data=body, content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (400, "malformed_json")
    assert "overflows a double" in response.json()["detail"]


def test_oversized_body(api, settings):
    settings.API_MAX_JSON_BYTES = 1000
    body = '{"email": "a@b.c", "password": "' + "x" * 2000 + '"}'
    response = api.post(TOKEN, data=body, content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (413, "payload_too_large")


def test_unknown_fields_are_named(api):
    user = MembershipFactory().user
    response = api.post(
        TOKEN, {"email": user.email, "password": "x", "is_staff": True}, format="json"
    )
    body = response.json()
    assert (response.status_code, body["code"]) == (400, "unknown_field")
    assert "is_staff" in body["errors"]


def test_a_body_of_only_an_unknown_field_is_told_so_not_that_a_field_is_required(member_client):
    """PATCH a member with {"email": ...}: it was "role: This field is required."."""
    client, membership = member_client("admin")
    member = MembershipFactory(tenant=membership.tenant, role="developer")
    response = client.patch(
        f"/api/v1/tenant/members/{member.pk}", {"email": "x@example.com"}, format="json"
    )
    body = response.json()
    assert (response.status_code, body["code"]) == (400, "unknown_field")
    assert list(body["errors"]) == ["email"]


def test_a_value_of_another_json_type_is_refused_not_converted(api):
    """DRF read 123 as the text "123": the schema says a string."""
    response = api.post(TOKEN, {"email": 123, "password": "x"}, format="json")
    body = response.json()
    assert (response.status_code, body["code"]) == (400, "invalid")
    assert body["errors"] == {"email": ["Must be a string, not 123."]}


def test_a_form_s_text_is_read_as_the_field_s_type(vendor):
    """Only JSON carries types: a multipart or form body's values are all text, and an integer
    field reads "12" as 12 there, as the schema's multipart form allows."""
    version_id = vendor.upload(package()).json()["version"]["id"]
    response = vendor.client.post(
        "/api/v1/certification/submit", {"version_id": str(version_id), "level": "basic"}
    )
    assert response.status_code == 202, response.json()


def test_unsupported_media_type(api):
    response = api.post(TOKEN, data="<xml/>", content_type="application/xml")
    assert (response.status_code, response.json()["code"]) == (415, "unsupported_media_type")


def test_wrong_method(api):
    response = api.get(TOKEN)
    assert (response.status_code, response.json()["code"]) == (405, "method_not_allowed")


def test_unknown_api_path_is_404():
    from django.test import Client

    assert Client().get("/api/v1/no-such-thing").status_code == 404
