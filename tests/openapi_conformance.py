"""Whether an answer of the API is one its OpenAPI schema documents, checked in-process, for
answers the schemathesis run (tests/test_openapi_contract.py) cannot provoke: a declined card,
a payment processor outage, a file download."""

from functools import cache

import requests
import schemathesis
from django.test import Client


@cache
def _schema():
    # The schema is what the code declares: built once per test session.
    response = Client().get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    return schemathesis.openapi.from_dict(response.json())


def assert_documented(response, operation: str) -> None:
    """``operation`` as ``"GET /api/v1/orders/{id}"``: the schema lists the response's status
    for it, with the media type answered, and a JSON body conforms to the schema given for
    them (schemathesis' own validation)."""
    method, path = operation.split(" ", 1)
    documented = _schema()[path][method]
    responses = documented.definition.raw["responses"]
    status = str(response.status_code)
    assert status in responses, f"{operation} answered {status}; documented: {sorted(responses)}"
    media_type = response["Content-Type"].split(";")[0].strip()
    content = responses[status].get("content", {})
    assert media_type in content, (
        f"{operation} {status} answered {media_type}; documented: {sorted(content)}"
    )
    if media_type == "application/json":
        documented.validate_response(_received(response))


def documented_keys(operation: str, status: int) -> set[str]:
    """The top-level keys the schema gives the JSON answer ``status`` of ``operation``."""
    method, path = operation.split(" ", 1)
    raw = _schema()[path][method].definition.raw["responses"][str(status)]
    body = raw["content"]["application/json"]["schema"]
    if "$ref" in body:
        body = _schema().raw_schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
    return set(body["properties"])


def _received(response) -> schemathesis.Response:
    """A Django test client's response as schemathesis takes it."""
    environ = response.request
    request = requests.Request(
        environ["REQUEST_METHOD"], f"http://testserver{environ['PATH_INFO']}"
    ).prepare()
    return schemathesis.Response(
        status_code=response.status_code,
        headers={name: [value] for name, value in response.headers.items()},
        content=response.content,
        request=request,
        elapsed=0.0,
        verify=True,
    )
