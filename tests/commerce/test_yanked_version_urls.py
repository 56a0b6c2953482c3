"""A version yanked after customers could see it stays on the agent's page, marked, without
download URL (docs/commerce.md), and its own URLs answer as that page does: the version's
detail and its certificate are there, marked yanked; its bytes (download, bundle) and new
deployments are refused 409 version_yanked.
A version no customer ever saw stays a 404 for other tenants."""

import pytest

from marketplace.models import AgentVersion
from tests.commerce.conftest import buy_free, publish
from tests.factories import simulated_certificate
from tests.vendors import package

pytestmark = pytest.mark.django_db


def _url(version, tail=""):
    return f"/api/v1/agents/{version.agent_id}/versions/{version.version}{tail}"


def _upload(vendor, number) -> AgentVersion:
    return AgentVersion.objects.get(pk=vendor.upload(package(number)).json()["version"]["id"])


def _yank(vendor, version):
    response = vendor.client.post(_url(version, "/yank"), {"reason": "bad model"}, format="json")
    assert response.status_code == 200, response.json()


def _deploy_on_a_new_device(client, agent):
    """A device of the customer's, and a function deploying a version of ``agent`` on it."""
    device = client.post(
        "/api/v1/devices", {"name": "pump 1", "hardware_id": "hw-1", "core": "cortex-m4"}
    ).json()["device"]
    url = f"/api/v1/devices/{device['id']}/deployments"
    return lambda version: client.post(url, {"agent": agent.pk, "version": version}, format="json")


@pytest.fixture
def yanked(vendor, published, certificate):
    """1.0.0 public; 1.1.0 certified, approved, then yanked."""
    version = publish(_upload(vendor, "1.1.0"))
    simulated_certificate(version)
    _yank(vendor, version)
    return version


def test_a_version_yanked_after_release_answers_at_its_own_urls_as_on_the_agent_page(
    customer, agent, make_plan, yanked, media_root
):
    client, _ = customer
    buy_free(client, agent, make_plan)
    listed = {v["version"]: v for v in client.get(f"/api/v1/agents/{agent.pk}").json()["versions"]}
    assert (listed["1.1.0"]["yanked"], listed["1.1.0"]["download_url"]) == (True, None)

    detail = client.get(_url(yanked))
    assert detail.status_code == 200, detail.json()
    body = detail.json()
    assert (body["version"], body["yanked"], body["yank_reason"]) == ("1.1.0", True, "bad model")
    assert body["download_url"] is None
    certificate = client.get(_url(yanked, "/certificate"))
    assert certificate.status_code == 200, certificate.json()
    assert certificate.json()["certificate"]["package"]["version"] == "1.1.0"

    for tail in ("/download", "/bundle"):  # its bytes stay refused, and say why
        refused = client.get(_url(yanked, tail))
        assert (refused.status_code, refused.json()["code"]) == (409, "version_yanked"), tail
        assert "1.1.0 was yanked by its vendor on" in refused.json()["detail"]
    deploy = _deploy_on_a_new_device(client, agent)
    refused = deploy("1.1.0")
    assert (refused.status_code, refused.json()["code"]) == (409, "version_yanked")
    unknown = deploy("9.9.9")
    assert (unknown.status_code, unknown.json()["code"]) == (400, "unknown_version")
    public = client.get(_url(agent.versions.get(version="1.0.0")))
    assert public.json()["download_url"].endswith("/versions/1.0.0/download")


def test_a_version_never_released_stays_hidden_from_other_tenants(customer, vendor, agent, yanked):
    client, _ = customer
    never = _upload(vendor, "2.0.0")
    _yank(vendor, never)
    listed = [v["version"] for v in client.get(f"/api/v1/agents/{agent.pk}").json()["versions"]]
    assert listed == ["1.1.0", "1.0.0"]
    for tail in ("", "/certificate", "/download", "/bundle"):
        response = client.get(_url(never, tail))
        assert (response.status_code, response.json()["code"]) == (404, "not_found"), tail
    own = vendor.client.get(_url(never)).json()
    assert (own["yanked"], own["download_url"]) == (True, None)


def test_once_every_version_is_yanked_the_agent_and_its_versions_are_gone_alike(
    customer, vendor, published, agent, yanked
):
    client, _ = customer
    _yank(vendor, published)
    assert client.get(f"/api/v1/agents/{agent.pk}").status_code == 404
    for version in (published, yanked):
        assert client.get(_url(version)).status_code == 404


def test_a_holder_of_an_agent_whose_only_version_is_yanked_is_told_so(
    customer, vendor, published, agent, make_plan, certificate, media_root
):
    """Its one public version yanked, the agent leaves the catalogue; a tenant holding it is
    still told why its version's bytes and new deployments are refused (409 version_yanked),
    not 404 and unknown_version, as when the agent has another version (found by a probe)."""
    client, _ = customer
    buy_free(client, agent, make_plan)
    _yank(vendor, published)

    for tail in ("/download", "/bundle"):
        refused = client.get(_url(published, tail))
        assert (refused.status_code, refused.json()["code"]) == (409, "version_yanked"), tail
    deploy = _deploy_on_a_new_device(client, agent)("1.0.0")
    assert (deploy.status_code, deploy.json()["code"]) == (409, "version_yanked")
    detail = client.get(_url(published))  # its own URL answers, marked
    assert (detail.status_code, detail.json()["yanked"]) == (200, True)
