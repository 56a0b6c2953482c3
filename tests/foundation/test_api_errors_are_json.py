"""Under /api/v1/ every error is {"code", "detail"} JSON, Django's own included."""

import json
import logging

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from marketplace.models import AgentVersion
from tests.vendors import package

pytestmark = pytest.mark.django_db


def _error(response) -> tuple[int, str]:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    body = response.json()
    assert set(body) >= {"code", "detail"}, body
    return response.status_code, body["code"]


def test_json_body_over_the_request_limit_is_413_json(vendor):
    body = json.dumps({"name": "k", "public_key": "x" * 1_100_000})
    response = vendor.client.post("/api/v1/vendor/keys", data=body, content_type="application/json")
    assert _error(response) == (413, "payload_too_large")


def test_multipart_field_over_the_request_limit_is_413_json(vendor):
    response = vendor.upload(package(), signature="A" * 2 * 1024 * 1024)
    assert _error(response) == (413, "payload_too_large")


def test_form_body_over_the_request_limit_is_413_json(vendor):
    response = vendor.client.post(
        "/api/v1/vendor/keys",
        data="name=" + "x" * 1_100_000,
        content_type="application/x-www-form-urlencoded",
    )
    assert _error(response) == (413, "payload_too_large")


_OVER_A_MIB = b'{"email": "' + b"x" * 2 * 1024 * 1024 + b'", "password": "x"}'


def _logged(caplog) -> list[tuple[str, str, bool]]:
    """Level, logger and whether a traceback came with it, of each record at WARNING or above."""
    return [
        (r.levelname, r.name, bool(r.exc_info))
        for r in caplog.records
        if r.levelno >= logging.WARNING
    ]


@pytest.mark.parametrize(
    ("content_type", "body", "detail"),
    [
        (
            "application/json",
            _OVER_A_MIB,
            "JSON bodies are limited to 1048576 bytes.",
        ),
        (
            "application/json; charset=utf-8",
            _OVER_A_MIB,
            "JSON bodies are limited to 1048576 bytes.",
        ),
        (
            "application/x-www-form-urlencoded",
            b"email=" + b"x" * 2 * 1024 * 1024 + b"&password=x",
            "Form fields are limited to 1048576 bytes (files aside).",
        ),
    ],
)
def test_a_body_over_the_limit_is_logged_as_a_refusal_and_told_its_limit(
    api, caplog, content_type, body, detail
):
    """An ordinary refusal, logged as every other 4xx is: one WARNING line. It was an ERROR
    with a traceback (django.security.RequestDataTooBig, Django reading the body for DRF
    before the parser's own check), as a crash is: anyone could fill the error log."""
    caplog.set_level(logging.INFO)

    response = api.post("/api/v1/auth/token", body, content_type=content_type)

    assert _error(response) == (413, "payload_too_large")
    assert _logged(caplog) == [("WARNING", "django.request", False)]
    assert response.json()["detail"] == detail


_FIELDS = "&".join(f"f{i}=x" for i in range(1001))  # DATA_UPLOAD_MAX_NUMBER_FIELDS is 1000
_FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    ("request_kwargs", "code", "detail"),
    [
        (
            {"QUERY_STRING": _FIELDS},
            "too_many_parameters",
            "A request may send at most 1000 query parameters.",
        ),
        (
            {"data": _FIELDS, "content_type": "application/x-www-form-urlencoded"},
            "too_many_fields",
            "A form may send at most 1000 fields (files aside).",
        ),
    ],
)
def test_too_many_parameters_or_form_fields_are_refused_telling_the_limit(
    api, request_kwargs, code, detail
):
    """Both were a vague 400 bad_request, "The request could not be understood." (Django's
    TooManyFieldsSent), where one parameter less was read and refused by name."""
    response = api.post("/api/v1/auth/token", **request_kwargs)
    assert _error(response) == (400, code)
    assert response.json()["detail"] == detail


_BEFORE_ANY_VIEW = "django.security.TooManyFieldsSent"


@pytest.mark.parametrize(
    ("method", "request_kwargs", "code", "logger"),
    [
        ("post", {"data": _FIELDS, "content_type": _FORM}, "too_many_fields", "django.request"),
        ("post", {"QUERY_STRING": _FIELDS}, "too_many_parameters", _BEFORE_ANY_VIEW),
        ("get", {"QUERY_STRING": _FIELDS}, "too_many_parameters", _BEFORE_ANY_VIEW),
    ],
    ids=["form", "query-of-a-post", "query-of-a-get"],
)
def test_too_many_fields_or_parameters_are_logged_as_a_refusal(
    api, caplog, method, request_kwargs, code, logger
):
    """As a body over the limit is: one WARNING line, not an ERROR with a traceback. A query
    string of too many was an ERROR with one (django.security.TooManyFieldsSent: a middleware
    reads it before any view, and Django logs it so) before the 400: a client's mistake in the
    error log."""
    caplog.set_level(logging.INFO)
    response = getattr(api, method)("/api/v1/auth/token", **request_kwargs)
    assert _error(response) == (400, code)
    assert _logged(caplog) == [("WARNING", logger, False)]


def test_a_page_form_of_too_many_fields_is_logged_as_a_refusal(caplog):
    """Outside the API too: the admin sign-in form of 1001 fields is Django's 400 page, one
    WARNING line (it was an ERROR with a traceback)."""
    caplog.set_level(logging.INFO)
    response = Client().post("/admin/login/", _FIELDS, content_type=_FORM)
    assert response.status_code == 400
    assert _logged(caplog) == [("WARNING", _BEFORE_ANY_VIEW, False)]


def test_an_upload_of_too_many_files_is_refused_telling_the_limit(vendor, caplog):
    """More than DATA_UPLOAD_MAX_NUMBER_FILES (100) files in one multipart body: its own code,
    logged as a refusal (one WARNING line). It was 400 bad_request, "The request could not be
    understood.", after an ERROR with a traceback (django.security.TooManyFilesSent)."""
    caplog.set_level(logging.INFO)
    more = {f"file{i}": SimpleUploadedFile(f"{i}.txt", b"x") for i in range(100)}

    response = vendor.upload(package(), **more)  # the package is the 101st

    assert _error(response) == (400, "too_many_files")
    assert response.json()["detail"] == "A form may send at most 100 files."
    assert _logged(caplog) == [("WARNING", "django.request", False)]
    assert not AgentVersion.objects.exists()


def test_a_json_body_over_a_lower_limit_is_told_the_same(api, settings):
    """Refused by the parser itself (under Django's own limit): the same words."""
    settings.API_MAX_JSON_BYTES = 1000
    body = '{"email": "a@b.c", "password": "' + "x" * 2000 + '"}'
    response = api.post("/api/v1/auth/token", body, content_type="application/json")
    assert _error(response) == (413, "payload_too_large")
    assert response.json()["detail"] == "JSON bodies are limited to 1000 bytes."


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("delete", "/api/v1/agents/null%2Cnull"),
        ("get", "/api/v1/no-such-thing"),
        ("post", "/api/v1/agents/1/versions/1.0.0/nothing-here"),
    ],
)
def test_unknown_api_paths_are_404_json(method, path):
    assert _error(getattr(Client(), method)(path)) == (404, "not_found")


def test_unknown_paths_outside_the_api_stay_html():
    response = Client().get("/no-such-page")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_wrong_method_is_405_json(api):
    assert _error(api.put("/api/v1/auth/token", {}, format="json")) == (405, "method_not_allowed")


def test_bad_host_is_400_json():
    response = Client(HTTP_HOST="evil.example").get("/api/v1/auth/me")
    assert _error(response) == (400, "bad_request")


@pytest.mark.urls("tests.foundation.crash_urls")
def test_a_crash_under_the_api_is_500_json():
    client = Client(raise_request_exception=False)
    assert _error(client.get("/api/v1/crash")) == (500, "server_error")
    page = client.get("/crash")
    assert page.status_code == 500 and page["Content-Type"].startswith("text/html")


@pytest.mark.urls("tests.foundation.crash_urls")
def test_a_refusal_outside_drf_under_the_api_is_403_json():
    """The admin answers a 403 with a page in its frame; the API keeps its JSON."""
    refused = Client().get("/api/v1/refused")
    assert _error(refused) == (403, "permission_denied")
    # In the words of every other 403 the API answers (DRF's), not the view's own.
    assert refused.json()["detail"] == "You do not have permission to perform this action."


@pytest.mark.urls("tests.foundation.crash_urls")
@pytest.mark.parametrize("path", ["/api/v1/database-lost", "/api/v1/database-lost-in-drf"])
def test_a_lost_database_connection_is_a_503_the_client_may_retry(path):
    response = Client(raise_request_exception=False).get(path)
    assert _error(response) == (503, "database_unavailable")
    assert response["Retry-After"] == "1" and response.json()["retry_after"] == 1
    assert "send the same request again" in response.json()["detail"]


@pytest.mark.parametrize("asked", ["xml", "api", "CSV", ""])
def test_a_format_the_endpoint_does_not_answer_is_400_naming_the_parameter(asked):
    """DRF answered ``?format=xml`` 404 not_found (a missing object, to a client) and
    ``?format=api`` with its HTML pages; the API answers JSON and its files only. An empty
    ``?format=`` names none of them either (the schema publishes the formats as an enum)."""
    response = Client().get("/api/v1/agents", {"format": asked})
    assert _error(response) == (400, "invalid_choice")
    assert "json" in response.json()["errors"]["format"][0]
    assert Client().get("/api/v1/agents", {"format": "json"}).status_code == 200


def test_an_accept_the_api_cannot_answer_is_406_json_not_an_html_page():
    response = Client().get("/api/v1/agents/999999", HTTP_ACCEPT="text/html")
    assert _error(response) == (406, "not_acceptable")
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    assert _error(Client().get("/api/v1/agents/999999", HTTP_ACCEPT=browser)) == (404, "not_found")


@pytest.mark.parametrize(
    ("request_kwargs", "expected"),
    [
        ({"data": {"format": "xml"}}, (400, "invalid_choice")),
        ({"HTTP_ACCEPT": "text/html"}, (406, "not_acceptable")),
    ],
)
def test_the_schema_endpoints_errors_are_json_not_yaml(request_kwargs, expected):
    """The schema answers YAML (its default) or JSON; its refusals are the API's JSON errors,
    as every other error under /api/v1/ (they were YAML, their ``errors`` items as
    ``{string, code}`` mappings)."""
    response = Client().get("/api/v1/schema/", **request_kwargs)
    assert _error(response) == expected


@pytest.mark.parametrize(
    ("request_kwargs", "expected"),
    [
        ({"data": {"format": "xml"}}, (400, "invalid_choice")),
        ({"HTTP_ACCEPT": "application/json"}, (406, "not_acceptable")),
    ],
)
def test_the_swagger_pages_errors_are_json_not_a_bare_html_line(request_kwargs, expected):
    response = Client().get("/api/v1/docs/", **request_kwargs)
    assert _error(response) == expected
    assert Client().get("/api/v1/docs/")["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("path", ["/api/v1/schema/", "/api/v1/docs/"])
def test_a_wrong_method_on_the_schema_and_its_page_is_405_json(path):
    assert _error(Client().post(path)) == (405, "method_not_allowed")
