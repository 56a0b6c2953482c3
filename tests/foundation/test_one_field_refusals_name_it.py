"""A refusal about one request field names it in ``field``, whichever check refused it: a
domain error (``invalid_ordering``, field ``ordering``) and a validation error alike (a blank
filter, a body field of the wrong type; ``?format=``: tests/finance), so a client reads one key
for "which field" (README). A validation error keeps its ``errors`` too; one naming several
fields, or none in particular, has no ``field``."""

import pytest

pytestmark = pytest.mark.django_db


def test_a_blank_filter_names_its_parameter_as_invalid_ordering_does(member_client):
    client, _ = member_client("admin")
    assert client.get("/api/v1/orders?ordering=zz").json()["field"] == "ordering"

    body = client.get("/api/v1/orders?status=").json()

    assert (body["code"], body["field"]) == ("blank", "status")
    assert body["errors"] == {"status": ["Give a value or leave the parameter out."]}


def test_one_wrong_body_field_is_named(member_client):
    client, _ = member_client("admin")

    body = client.post(
        "/api/v1/orders", {"agent": "x", "plan": 1}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    ).json()

    assert list(body["errors"]) == ["agent"]
    assert body["field"] == "agent"


def test_a_refusal_of_several_fields_names_none(member_client):
    client, _ = member_client("admin")

    body = client.post(
        "/api/v1/orders", {"agent": "x", "plan": "y"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2"
    ).json()

    assert set(body["errors"]) == {"agent", "plan"}
    assert "field" not in body


def test_several_unknown_parameters_name_no_field(member_client):
    client, _ = member_client("admin")

    body = client.get("/api/v1/orders?statuss=paid&page_sise=5").json()

    assert body["code"] == "unknown_parameter" and "field" not in body
    assert set(body["errors"]) == {"statuss", "page_sise"}
