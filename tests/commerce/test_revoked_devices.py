"""A revoked device holds no seat (its deployments end with the revocation, audited) and its
hardware id may be registered again; an active device's hardware id stays taken."""

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from edgeplug.audit.models import AuditEvent
from marketplace.models import Deployment, Device, Entitlement
from tests.commerce.conftest import buy_free
from tests.commerce.test_deployments import as_device, deploy, register
from tests.concurrency import needs_row_locks, race
from tests.migrations import migrated_back

pytestmark = pytest.mark.django_db


def revoke(client, device):
    response = client.post(f"/api/v1/devices/{device['device']['id']}/revoke")
    assert response.status_code == 200, response.json()
    return response.json()


def deployments_of(client, device) -> list:
    return client.get(f"/api/v1/devices/{device['device']['id']}/deployments").json()["results"]


def test_revoking_a_device_frees_its_seat(customer, published, agent, make_plan, certificate):
    client, _ = customer
    buy_free(client, agent, make_plan)  # 1 seat
    old = register(client, "hw-old")
    assert deploy(client, old, published).status_code == 201
    revoke(client, old)

    new = register(client, "hw-new")
    deployed = deploy(client, new, published)

    assert deployed.status_code == 201, deployed.json()  # before: 409 seat_limit_reached
    assert deployments_of(client, old) == []
    assert len(as_device(new).get("/api/v1/device/assignments").json()["run"]) == 1
    ended = AuditEvent.objects.get(action="deployment_removed")
    assert ended.details["version"] == str(published)
    assert ended.target == f"device {old['device']['id']} hw-old"


def test_revoking_twice_ends_the_deployments_once(
    customer, published, agent, make_plan, certificate
):
    client, _ = customer
    buy_free(client, agent, make_plan)
    device = register(client, "hw-1")
    deploy(client, device, published)
    revoke(client, device)
    revoke(client, device)
    assert AuditEvent.objects.filter(action="deployment_removed").count() == 1
    assert AuditEvent.objects.filter(action="device_revoked").count() == 1


@pytest.mark.django_db(transaction=True)  # migrating (SQLite's schema editor) needs no atomic
def test_the_migration_ends_the_deployments_of_devices_revoked_before(
    customer, published, agent, make_plan, certificate
):
    """Devices revoked before revoking ended deployments still held their seats: migration
    0012 ends those deployments, audited, and leaves the active devices' alone."""
    client, _ = customer
    buy_free(client, agent, make_plan)
    Entitlement.objects.update(seats=2)
    old, kept = register(client, "hw-old"), register(client, "hw-kept")
    assert deploy(client, old, published).status_code == 201
    assert deploy(client, kept, published).status_code == 201
    # What revoking did until now: the stamp only, the deployment left in place.
    Device.objects.filter(pk=old["device"]["id"]).update(revoked_at=timezone.now())
    with migrated_back("marketplace", "0011_hardware_id_free_once_device_revoked") as migrator:
        migrator.forward("0012_end_deployments_of_revoked_devices")

    assert list(Deployment.objects.values_list("device_id", flat=True)) == [kept["device"]["id"]]
    ended = AuditEvent.objects.get(action="deployment_removed")
    assert ended.target == f"device {old['device']['id']} hw-old"
    assert ended.details["version"] == str(published)
    assert ended.details["reason"] == "device_revoked"


def test_a_revoked_devices_hardware_id_can_be_registered_again(customer, api):
    client, _ = customer
    first = register(client, "hw-1")
    duplicate = client.post(
        "/api/v1/devices", {"name": "x", "hardware_id": "hw-1", "core": "cortex-m4"}, format="json"
    )
    assert (duplicate.status_code, duplicate.json()["code"]) == (409, "device_exists")
    revoke(client, first)

    again = client.post(
        "/api/v1/devices",
        {"name": "hw-1 again", "hardware_id": "hw-1", "core": "cortex-m4"},
        format="json",
    )

    assert again.status_code == 201, again.json()  # before: 409 device_exists, forever
    assert as_device(again.json()).get("/api/v1/device/assignments").status_code == 200
    assert as_device(first).get("/api/v1/device/assignments").status_code == 401
    third = client.post(
        "/api/v1/devices", {"name": "y", "hardware_id": "hw-1", "core": "cortex-m4"}, format="json"
    )
    assert (third.status_code, third.json()["code"]) == (409, "device_exists")
    listed = client.get("/api/v1/devices").json()["results"]
    assert sorted((d["hardware_id"], d["active"]) for d in listed) == [
        ("hw-1", False),
        ("hw-1", True),
    ]


@pytest.mark.django_db(transaction=True)
@needs_row_locks
def test_concurrent_registrations_of_a_freed_hardware_id_make_one_device(customer):
    client, _ = customer
    revoke(client, register(client, "hw-1"))
    auth = client._credentials

    def attempt(n):
        api = APIClient()
        api.credentials(**auth)
        response = api.post(
            "/api/v1/devices",
            {"name": f"gateway {n}", "hardware_id": "hw-1", "core": "cortex-m4"},
            format="json",
        )
        return response.status_code, response.json().get("code")

    answers = race(attempt, range(4))

    assert sorted(answers, key=str) == [(201, None)] + [(409, "device_exists")] * 3
    assert Device.objects.filter(hardware_id="hw-1", revoked_at__isnull=True).count() == 1
