"""A query parameter an API operation does not publish is refused, not ignored: a misspelt
filter answered the unfiltered list, which the client took for the filtered one."""

import re

import pytest
from django.test import Client
from django.utils import timezone

from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


def _refusal(response) -> tuple[int, str]:
    return response.status_code, response.json()["code"]


@pytest.fixture
def buyer(member_client):
    """A tenant admin's client, with one completed and one refunded order."""
    client, membership = member_client("admin")
    completed = OrderFactory(tenant=membership.tenant)
    refunded = OrderFactory(tenant=membership.tenant, status="refunded", refunded_at=timezone.now())
    return client, completed, refunded


def test_a_misspelt_filter_is_refused_naming_it_and_the_parameters_the_list_takes(buyer):
    client, _, _ = buyer
    response = client.get("/api/v1/orders", {"statuss": "refunded"})
    assert _refusal(response) == (400, "unknown_parameter")
    assert response.json() == {
        "code": "unknown_parameter",
        "detail": "Unknown query parameter 'statuss': this operation takes format, ordering, "
        "page, page_size, status.",
        "errors": {"statuss": ["Unknown parameter."]},
        "field": "statuss",
    }


def test_every_unknown_parameter_is_named_at_once(buyer):
    client, _, _ = buyer
    response = client.get("/api/v1/orders?statuss=refunded&page_sise=5&status=completed")
    assert _refusal(response) == (400, "unknown_parameter")
    assert set(response.json()["errors"]) == {"page_sise", "statuss"}
    assert response.json()["detail"].startswith("Unknown query parameters 'page_sise', 'statuss':")


def test_the_documented_filter_still_filters(buyer):
    client, completed, refunded = buyer
    response = client.get("/api/v1/orders", {"status": "refunded"})
    assert response.status_code == 200
    assert [order["id"] for order in response.json()["results"]] == [refunded.pk]
    everything = client.get("/api/v1/orders").json()["results"]
    assert {order["id"] for order in everything} == {completed.pk, refunded.pk}


def test_page_and_page_size_still_page(buyer):
    client, completed, refunded = buyer
    first = client.get("/api/v1/orders", {"page": 1, "page_size": 1, "ordering": "id"}).json()
    second = client.get("/api/v1/orders", {"page": 2, "page_size": 1, "ordering": "id"}).json()
    assert first["count"] == 2
    assert [first["results"][0]["id"], second["results"][0]["id"]] == [completed.pk, refunded.pk]
    misspelt = client.get("/api/v1/orders", {"page_sise": 1})
    assert _refusal(misspelt) == (400, "unknown_parameter")
    assert "page_size" in misspelt.json()["detail"]


def test_an_objects_page_refuses_an_unknown_parameter(buyer):
    client, completed, _ = buyer
    response = client.get(f"/api/v1/orders/{completed.pk}", {"expand": "agent"})
    assert _refusal(response) == (400, "unknown_parameter")
    assert response.json()["detail"] == (
        "Unknown query parameter 'expand': this operation takes format."
    )
    # A list's filter is not a parameter of one object's page either (get_object() applied
    # it: a refunded order read as missing, a 404).
    filtered = client.get(f"/api/v1/orders/{completed.pk}", {"status": "refunded"})
    assert _refusal(filtered) == (400, "unknown_parameter")
    assert client.get(f"/api/v1/orders/{completed.pk}", {"format": "json"}).status_code == 200


def test_a_head_request_is_checked_as_its_get():
    assert Client().head("/api/v1/agents", {"sort": "newest"}).status_code == 200
    assert Client().head("/api/v1/agents", {"sortt": "newest"}).status_code == 400


def test_pages_outside_the_api_keep_their_query_strings(client):
    assert (
        client.get("/portal/sign-in/", {"next": "/portal/", "utm_source": "mail"}).status_code
        == 200
    )


@pytest.mark.parametrize(
    ("path", "takes"),
    [("/api/v1/schema/", {"format": "json", "lang": "en"}), ("/api/v1/docs/", {"script": ""})],
)
def test_the_schema_and_its_docs_page_refuse_what_they_do_not_read(client, path, takes):
    assert client.get(path, takes).status_code == 200
    refused = client.get(path, {**takes, "formatt": "json"})
    assert refused.status_code == 400
    assert refused.json()["code"] == "unknown_parameter"
    assert refused.json()["errors"] == {"formatt": ["Unknown parameter."]}


@pytest.mark.parametrize(
    ("path", "query", "name"),
    [
        ("/api/v1/schema/", "format=json&format=yaml", "format"),
        ("/api/v1/schema/", "format=json&lang=de&lang=en", "lang"),
        ("/api/v1/docs/", "lang=de&lang=en", "lang"),
    ],
)
def test_the_schema_and_its_docs_page_refuse_a_repeated_parameter(client, path, query, name):
    """?format=json&format=yaml answered the YAML document: the last one read alone."""
    response = client.get(f"{path}?{query}")
    assert _refusal(response) == (400, "repeated_parameter")
    assert response.json()["errors"] == {name: ["Give this parameter once."]}


@pytest.mark.parametrize("path", ["/api/v1/schema/", "/api/v1/docs/"])
@pytest.mark.parametrize("lang", ["zz", "", "EN"])
def test_the_schema_and_its_docs_page_refuse_a_language_they_do_not_have(client, path, lang):
    """?lang=zz answered the English schema, as if the language had been honoured."""
    response = client.get(path, {"lang": lang})
    assert _refusal(response) == (400, "invalid_choice")
    assert response.json()["field"] == "lang"
    assert client.get(path, {"lang": "en"}).status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/schema/", "/api/v1/docs/"])
def test_a_refused_language_is_told_the_one_the_site_has(client, path):
    """The site ships in English alone (no translations of its own): ?lang=de was taken (and
    answered English), and a refused one listed Django's hundred-odd language codes as the
    site's. settings.LANGUAGES is English alone."""
    response = client.get(path, {"lang": "de"})
    assert _refusal(response) == (400, "invalid_choice")
    assert response.json()["detail"] == "lang: 'de' is not a language of this site (one of en)."


def test_the_schema_takes_no_version_it_would_only_echo(client):
    """?version=abc was written into the document as its info.version; the API has one
    version, the one the schema publishes."""
    response = client.get("/api/v1/schema/", {"format": "json", "version": "abc"})
    assert _refusal(response) == (400, "unknown_parameter")
    assert response.json()["field"] == "version"
    assert client.get("/api/v1/schema/?format=json").json()["info"]["version"] == "1.0.0"


def _example(path: str) -> str:
    """``path`` with 1 for each of its parameters (``/orders/{id}`` -> ``/orders/1``)."""
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_operation_refuses_what_it_does_not_publish_and_takes_what_it_does(schema):
    """The rule holds for every operation of the schema, and what each accepts is what the
    schema lists for it: the check reads the schema (edgeplug.core.published_parameters). The
    refusal comes before anything of the request is read, credentials and body too: the
    parameters an operation takes are public (the schema says them)."""
    client = Client()
    checked = 0
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            label = f"{method.upper()} {path}"
            assert "400" in operation["responses"], label
            published = sorted(p["name"] for p in operation["parameters"] if p["in"] == "query")
            assert "format" in published, label  # every operation reads ?format=
            response = getattr(client, method)(f"{_example(path)}?not_published=1")
            assert _refusal(response) == (400, "unknown_parameter"), label
            takes = response.json()["detail"].split("this operation takes ", 1)[1]
            assert takes == ", ".join(published) + ".", label
            checked += 1
    assert checked > 70
    general = schema["paths"]["/api/v1/orders"]["get"]["responses"]["400"]["description"]
    assert "query parameter (unknown_parameter) this operation does not publish" in general


@pytest.mark.parametrize(
    "query",
    [
        "status=completed&status=refunded",  # read as status=refunded alone
        "ordering=bogus&ordering=id",  # the bad value hidden by a good one
        "page_size=abc&page_size=5",
    ],
)
def test_a_parameter_given_twice_is_refused_naming_it(buyer, query):
    client, _, _ = buyer
    response = client.get(f"/api/v1/orders?{query}")
    name = query.split("=")[0]
    assert _refusal(response) == (400, "repeated_parameter")
    assert response.json()["errors"] == {name: ["Give this parameter once."]}
    assert f"'{name}' came more than once" in response.json()["detail"]
