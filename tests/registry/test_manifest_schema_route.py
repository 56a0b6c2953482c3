"""GET /api/v1/schemas/manifest.json follows the API's rules as every other route does: its
refusals are ``{"code", "detail"}`` JSON (another method 405 ``method_not_allowed``, an
``Accept`` it cannot answer 406 ``not_acceptable``, an unknown query parameter 400
``unknown_parameter``), it is in the OpenAPI schema, under the anonymous throttle, and still
answers the schema file byte for byte, public for an hour. It was a plain Django view: an
empty HTML 405, every parameter and Accept ignored, absent from the schema, never throttled."""

import pytest

from marketplace.packageformat import SCHEMA_MEDIA_TYPE, manifest_schema_bytes
from tests.openapi_conformance import assert_documented

pytestmark = pytest.mark.django_db
URL = "/api/v1/schemas/manifest.json"
OPERATION = f"GET {URL}"


@pytest.mark.parametrize("accept", [None, SCHEMA_MEDIA_TYPE, "application/json", "*/*"])
def test_the_schema_file_is_answered_byte_for_byte_public_for_an_hour(api, accept):
    headers = {"HTTP_ACCEPT": accept} if accept else {}

    response = api.get(URL, **headers)

    assert response.status_code == 200
    assert response.content == manifest_schema_bytes()
    answered = "application/json" if accept == "application/json" else SCHEMA_MEDIA_TYPE
    assert response["Content-Type"] == answered
    assert response["Cache-Control"] == "public, max-age=3600"
    assert_documented(response, OPERATION)


def test_another_method_is_a_json_405(api):
    response = api.post(URL)

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert_documented(api.get(URL), OPERATION)


def test_an_unknown_parameter_is_refused(api):
    response = api.get(URL, {"versoin": "2"})

    assert (response.status_code, response.json()["code"]) == (400, "unknown_parameter")
    assert response.json()["field"] == "versoin"


def test_an_accept_it_cannot_answer_is_406(api):
    response = api.get(URL, HTTP_ACCEPT="application/xml")

    assert (response.status_code, response.json()["code"]) == (406, "not_acceptable")
    assert_documented(response, OPERATION)


def test_format_json_is_the_schema(api):
    response = api.get(URL, {"format": "json"})

    assert response.status_code == 200 and response.content == manifest_schema_bytes()
    assert api.get(URL, {"format": "xml"}).json()["code"] == "invalid_choice"


def test_anonymous_callers_draw_on_the_anonymous_throttle(api, settings):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "anon": "2/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}

    statuses = [api.get(URL).status_code for _ in range(3)]

    assert statuses == [200, 200, 429]


def test_a_stale_token_or_a_session_changes_nothing_about_the_file(api):
    """The file is the same for everyone: a tool sending whatever token it holds gets it, and a
    shared cache keeps one copy for every visitor (not one per cookie)."""
    answer = api.get(URL, HTTP_AUTHORIZATION="Bearer not-a-token-any-more")

    assert answer.status_code == 200, answer.content[:200]
    assert "Cookie" not in answer.get("Vary", "")
