"""A plan's ``terms`` sent as the text of a form or multipart field: read by the reader the
API's JSON parser uses (``edgeplug.core.parsers.read_json``), so the same text gets the same
answer in either body. DRF's JSONField read it with ``json.loads``, whose RecursionError on a
deep nesting was a 500."""

import json
from urllib.parse import urlencode

import pytest

from marketplace.models import PricePlan

pytestmark = pytest.mark.django_db

DEEP = "[" * 5000 + "]" * 5000  # far below API_MAX_JSON_BYTES, too deep for any parser
TERMS = {"scheme": "per_unit", "unit_amount": 5}
PLAN = {"key": "hourly", "name": "Hourly", "kind": "metered", "currency": "USD"}


def send(client, method: str, url: str, fields: dict, encoding: str):
    if encoding == "form":
        return client.generic(
            method, url, urlencode(fields), content_type="application/x-www-form-urlencoded"
        )
    return getattr(client, method.lower())(url, fields, format="multipart")


def plan_url(agent, make_plan, method: str) -> tuple[str, dict]:
    plans = f"/api/v1/vendor/agents/{agent.pk}/plans"
    if method == "POST":
        return plans, dict(PLAN)
    plan = make_plan("metered", currency="USD", terms=TERMS)
    return f"{plans}/{plan.pk}", {}


@pytest.mark.parametrize("encoding", ["form", "multipart"])
@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_terms_nested_too_deeply_are_malformed_json_not_a_500(
    vendor, agent, make_plan, method, encoding
):
    url, fields = plan_url(agent, make_plan, method)
    vendor.client.raise_request_exception = False
    before = list(PricePlan.objects.values_list("pk", "terms"))

    response = send(vendor.client, method, url, {**fields, "terms": DEEP}, encoding)

    assert response.status_code == 400, (response.status_code, response.content[:200])
    body = response.json()
    assert (body["code"], body["field"]) == ("malformed_json", "terms"), body
    assert list(PricePlan.objects.values_list("pk", "terms")) == before


@pytest.mark.parametrize("encoding", ["form", "multipart"])
def test_terms_that_are_not_json_are_malformed_json_naming_the_field(vendor, agent, encoding):
    url = f"/api/v1/vendor/agents/{agent.pk}/plans"

    response = send(vendor.client, "POST", url, {**PLAN, "terms": "{scheme: per_unit"}, encoding)

    body = response.json()
    assert (response.status_code, body["code"], body["field"]) == (400, "malformed_json", "terms")


@pytest.mark.parametrize("encoding", ["form", "multipart"])
def test_terms_in_a_form_body_price_the_plan_as_in_a_json_body(vendor, agent, encoding):
    url = f"/api/v1/vendor/agents/{agent.pk}/plans"

    in_json = vendor.client.post(url, {**PLAN, "key": "json", "terms": TERMS}, format="json")

    response = send(vendor.client, "POST", url, {**PLAN, "terms": json.dumps(TERMS)}, encoding)

    assert (in_json.status_code, response.status_code) == (201, 201), response.json()
    assert response.json()["terms"] == in_json.json()["terms"]
