"""U+0000 (or half a UTF-16 pair) in a JSON body is refused by the parser, before any
serializer: the refusal names the top-level field holding it, in ``field`` and in the detail,
as the same NUL sent in a form body is named (the field's own validator refuses it there). It
named none, so a client could not tell which field to correct."""

import pytest

pytestmark = pytest.mark.django_db

DEVICE = '{{"name": {name}, "hardware_id": "hw-1", "core": "cortex-m4"}}'


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ('"gw\\u00001"', "nul_character"),
        ('["gw", {"deep": "\\u0000"}]', "nul_character"),
        ('"gw\\ud8001"', "surrogate_character"),
    ],
)
def test_a_json_body_field_holding_an_unstorable_string_is_named(member_client, name, code):
    client, _ = member_client("admin")

    response = client.post(
        "/api/v1/devices", DEVICE.format(name=name), content_type="application/json"
    )

    body = response.json()
    assert (response.status_code, body["code"], body["field"]) == (400, code, "name")
    assert body["detail"].startswith("name: "), body["detail"]


def test_the_same_nul_in_a_form_body_is_named_alike(member_client):
    client, _ = member_client("admin")

    body = client.post(
        "/api/v1/devices",
        {"name": "gw\x001", "hardware_id": "hw-1", "core": "cortex-m4"},
        format="multipart",
    ).json()

    assert (body["code"], body["field"]) == ("nul_character", "name")


def test_a_nul_in_a_key_names_no_field(member_client):
    """The key itself is no field of the request: it is not echoed back as one."""
    client, _ = member_client("admin")

    response = client.post(
        "/api/v1/devices", '{"na\\u0000me": "gw"}', content_type="application/json"
    )

    assert response.json()["code"] == "nul_character"
    assert "field" not in response.json() and "\x00" not in response.content.decode()
