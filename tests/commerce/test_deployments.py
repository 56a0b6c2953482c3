"""Deployments take seats of an active entitlement, match the certified core, and reach the
device as assignments; what must stop is listed too."""

import io
import zipfile

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from edgeplug.audit.models import AuditEvent
from marketplace.models import AgentVersion, Deployment, Entitlement
from tests.commerce.conftest import buy_free
from tests.concurrency import needs_row_locks, race
from tests.openapi_conformance import assert_documented

pytestmark = pytest.mark.django_db


def register(client, hardware_id, core="cortex-m4"):
    response = client.post(
        "/api/v1/devices",
        {"name": hardware_id, "hardware_id": hardware_id, "core": core},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()


def deploy(client, device, version):
    return client.post(
        f"/api/v1/devices/{device['device']['id']}/deployments",
        {"agent": version.agent_id, "version": version.version},
        format="json",
    )


def as_device(device) -> APIClient:
    """An API client that sends the device's token, as a device does."""
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Device {device['token']}")
    return api


def running(client, agent, make_plan, published):
    """The customer holds the agent and has deployed ``published`` on a new device: the
    device and its client."""
    buy_free(client, agent, make_plan)
    device = register(client, "hw-1")
    assert deploy(client, device, published).status_code == 201
    return device, as_device(device)


def seats(count):
    Entitlement.objects.update(seats=count)


def test_deploy_and_the_device_sees_its_assignment(
    customer, published, agent, make_plan, certificate
):
    client, _ = customer
    _, device_api = running(client, agent, make_plan, published)
    body = device_api.get("/api/v1/device/assignments").json()
    assert body["stop"] == []
    [run] = body["run"]
    assert (run["agent"], run["version"], run["digest"]) == (
        "pump-anomaly",
        "1.0.0",
        f"sha256:{published.digest}",
    )
    assert run["certificate_id"] == certificate.pk
    assert run["download_url"].endswith("/versions/1.0.0/bundle")


def test_seat_limit_is_enforced_and_removing_a_deployment_frees_a_seat(
    customer, published, agent, make_plan, certificate
):
    client, _ = customer
    buy_free(client, agent, make_plan)
    first, second = register(client, "hw-1"), register(client, "hw-2")
    assert deploy(client, first, published).status_code == 201
    refused = deploy(client, second, published)
    assert (refused.status_code, refused.json()["code"]) == (409, "seat_limit_reached")
    # One seat is not 'All 1 seats'.
    assert refused.json()["detail"] == (
        f"The only seat of {agent.name} is deployed: remove a deployment or buy more seats."
    )
    # Redeploying keeps its seat and creates nothing: 200 (it was a 201, read as a second seat).
    again = deploy(client, first, published)
    assert again.status_code == 200, again.json()
    assert_documented(again, "POST /api/v1/devices/{id}/deployments")
    assert again.json()["id"] == Deployment.objects.get().pk
    assert not AuditEvent.objects.filter(action="deployment_updated").exists()  # nothing changed
    deployment = Deployment.objects.get()
    removed = client.delete(f"/api/v1/devices/{first['device']['id']}/deployments/{deployment.pk}")
    assert removed.status_code == 204
    assert deploy(client, second, published).status_code == 201


def test_no_entitlement_wrong_core_and_revoked_device_are_refused(
    customer, published, agent, make_plan, certificate
):
    client, _ = customer
    device = register(client, "hw-1")
    refused = deploy(client, device, published)
    assert (refused.status_code, refused.json()["code"]) == (403, "not_entitled")
    # Every door that needs an entitlement says the same, and what to do.
    download = client.get(f"/api/v1/agents/{agent.pk}/versions/{published.version}/download")
    assert (download.status_code, download.json()["code"]) == (403, "not_entitled")
    assert refused.json()["detail"] == download.json()["detail"]
    assert refused.json()["detail"].endswith(": order one of its plans.")
    buy_free(client, agent, make_plan)
    m7 = register(client, "hw-m7", core="cortex-m7")
    wrong = deploy(client, m7, published)
    assert (wrong.status_code, wrong.json()["code"]) == (422, "incompatible_core")
    client.post(f"/api/v1/devices/{device['device']['id']}/revoke")
    revoked = deploy(client, device, published)
    assert (revoked.status_code, revoked.json()["code"]) == (409, "device_revoked")
    assert not Deployment.objects.exists()


def test_a_vendors_own_agent_is_refused_with_why_and_what_to_do(
    member_client, published, agent, certificate
):
    """docs/commerce.md: a vendor cannot buy its own agent, so no entitlement lets it deploy
    one; the refusal said "order one of its plans", which answers own_agent."""
    client, _ = member_client("admin", tenant=agent.tenant)
    device = register(client, "hw-own")
    refused = deploy(client, device, published)
    assert (refused.status_code, refused.json()["code"]) == (403, "not_entitled")
    assert refused.json()["detail"] == (
        f"{agent.name} is your own agent: a deployment needs an entitlement, which a vendor "
        "cannot buy of its own agent; run it from its download."
    )
    assert not Deployment.objects.exists()


def test_device_is_told_to_stop_yanked_versions_and_revoked_entitlements(
    customer, published, agent, make_plan, certificate
):
    client, _ = customer
    _, device_api = running(client, agent, make_plan, published)
    Entitlement.objects.update(status="suspended")
    assert device_api.get("/api/v1/device/assignments").json()["stop"][0]["reason"] == (
        "entitlement_inactive"
    )
    Entitlement.objects.update(status="active")
    AgentVersion.objects.filter(pk=published.pk).update(yanked_at=timezone.now())
    body = device_api.get("/api/v1/device/assignments").json()
    assert body["run"] == [] and body["stop"][0]["reason"] == "version_yanked"


def test_an_entitlement_whose_validity_ended_is_said_expired_before_the_job_runs(
    customer, published, agent, make_plan, certificate
):
    """The stop says why, as the docs list it: ``expired`` from the moment its validity ends,
    not ``active`` until ``expire_entitlements`` (every 15 minutes) stores it."""
    client, _ = customer
    _, device_api = running(client, agent, make_plan, published)
    Entitlement.objects.update(valid_until=timezone.now())

    (stop,) = device_api.get("/api/v1/device/assignments").json()["stop"]
    assert (stop["reason"], stop["entitlement_status"]) == ("entitlement_inactive", "expired")


def test_other_tenants_deployments_are_404(member_client, published, agent, make_plan, certificate):
    alice, _ = member_client("admin")
    bob, _ = member_client("admin")
    buy_free(alice, agent, make_plan)
    device = register(alice, "hw-1")
    deploy(alice, device, published)
    deployment = Deployment.objects.get()
    url = f"/api/v1/devices/{device['device']['id']}/deployments/{deployment.pk}"
    assert bob.delete(url).status_code == 404
    bob_device = register(bob, "hw-b")
    cross = f"/api/v1/devices/{bob_device['device']['id']}/deployments/{deployment.pk}"
    assert bob.delete(cross).status_code == 404
    assert Deployment.objects.count() == 1


@pytest.mark.django_db(transaction=True)
@needs_row_locks
def test_concurrent_deployments_never_exceed_the_seats(
    customer, published, agent, make_plan, certificate
):
    client, _ = customer
    buy_free(client, agent, make_plan)
    seats(2)
    devices = [register(client, f"hw-{i}") for i in range(5)]
    auth = client._credentials

    def attempt(device):
        api = APIClient()
        api.credentials(**auth)
        response = deploy(api, device, published)
        return response.status_code, response.json().get("code")

    statuses = race(attempt, devices)
    assert Deployment.objects.count() == 2
    assert sorted(s for s, _ in statuses) == [201, 201, 409, 409, 409]
    assert {c for s, c in statuses if s == 409} == {"seat_limit_reached"}


def test_the_device_fetches_the_bundle_it_is_told_to_run_with_its_token(
    customer, published, agent, make_plan, certificate
):
    """``download_url`` of a ``run`` assignment answers the device's own token, and only for
    what it is told to run: a version it is told to stop is 404 to it."""
    client, _ = customer
    _, device_api = running(client, agent, make_plan, published)
    [run] = device_api.get("/api/v1/device/assignments").json()["run"]

    bundle = device_api.get(run["download_url"])

    assert bundle.status_code == 200, bundle.content[:300]  # before: 401 not_authenticated
    names = zipfile.ZipFile(io.BytesIO(bundle.content)).namelist()
    assert "certificate.json" in names and "keys.json" in names
    # The device's token opens its own routes only (a version's page is public anyway).
    assert device_api.get("/api/v1/entitlements").status_code == 401
    Entitlement.objects.update(status="suspended")  # now told to stop it
    refused = device_api.get(run["download_url"])
    assert (refused.status_code, refused.json()["code"]) == (404, "not_found")
    other = as_device(register(client, "hw-2"))  # nothing deployed on it
    Entitlement.objects.update(status="active")
    assert other.get(run["download_url"]).status_code == 404


def test_a_refused_device_token_is_challenged_with_the_device_scheme(
    customer, published, agent, make_plan, certificate
):
    """A 401 names the scheme to retry with (RFC 9110): ``Device`` for a device's token, at the
    bundle (which members fetch with a Bearer token too) as at the device endpoints."""
    client, _ = customer
    _, device_api = running(client, agent, make_plan, published)
    [run] = device_api.get("/api/v1/device/assignments").json()["run"]
    stranger = as_device({"token": "not-a-token"})

    for path in (run["download_url"], "/api/v1/device/assignments"):
        refused = stranger.get(path)
        assert (refused.status_code, refused.json()["code"]) == (401, "authentication_failed")
        assert refused["WWW-Authenticate"] == "Device"  # before, at the bundle: Bearer
    anonymous = APIClient().get(run["download_url"])
    assert anonymous.status_code == 401 and anonymous["WWW-Authenticate"].startswith("Bearer")
