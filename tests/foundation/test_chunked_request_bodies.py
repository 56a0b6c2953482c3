"""A request body sent chunked (``Transfer-Encoding: chunked``, no ``Content-Length``), as an
HTTP/1.1 client sends a body of unknown length: Django reads a body by its declared length,
so such a body reached the view as no body at all, and a change answered 200 without being
made. The API refuses it, ``411 length_required``, before any view reads it."""

import pytest
import requests

from marketplace.models import PricePlan
from tests.commerce.conftest import agent, make_plan, published  # noqa: F401 (the fixtures)
from tests.faults.components import web_env
from tests.gunicorn_server import gunicorn

pytestmark = pytest.mark.django_db

BODY = b'{"amount": 1500}'


@pytest.fixture
def plan_url(agent, make_plan):  # noqa: F811 (a fixture of the commerce tests)
    plan = make_plan("one_time", currency="USD", amount=900)
    return plan, f"/api/v1/vendor/agents/{agent.pk}/plans/{plan.pk}"


def test_a_chunked_body_without_a_length_is_refused_411_and_nothing_changes(vendor, plan_url):
    plan, url = plan_url
    response = vendor.client.generic(
        "PATCH",
        url,
        BODY,
        content_type="application/json",
        CONTENT_LENGTH="",  # as a WSGI server hands a chunked body on
        HTTP_TRANSFER_ENCODING="chunked",
    )
    assert response.status_code == 411, (response.status_code, response.content[:200])
    assert response.json()["code"] == "length_required"
    assert PricePlan.objects.get(pk=plan.pk).amount == 900


def test_the_same_body_with_its_length_is_read(vendor, plan_url):
    plan, url = plan_url
    response = vendor.client.generic("PATCH", url, BODY, content_type="application/json")
    assert response.status_code == 200, response.json()
    assert PricePlan.objects.get(pk=plan.pk).amount == 1500


def test_a_request_declaring_no_body_is_not_refused(vendor, plan_url):
    """``Transfer-Encoding`` other than chunked carries no body of unknown length."""
    _, url = plan_url
    response = vendor.client.get(url, HTTP_TRANSFER_ENCODING="identity")
    assert response.status_code == 200, response.json()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_gunicorn_hands_a_chunked_body_on_and_it_is_refused_not_dropped(tmp_path, vendor, plan_url):
    plan, url = plan_url
    headers = {
        "Authorization": vendor.client._credentials["HTTP_AUTHORIZATION"],
        "Content-Type": "application/json",
    }
    with gunicorn(tmp_path, workers=1, env=web_env(tmp_path)) as server:
        # A generator has no length: requests sends it chunked.
        response = requests.patch(
            server.url + url, data=iter([BODY[:11], BODY[11:]]), headers=headers, timeout=30
        )
    assert response.status_code == 411, (response.status_code, response.text[:200])
    assert response.json()["code"] == "length_required"
    assert PricePlan.objects.get(pk=plan.pk).amount == 900
