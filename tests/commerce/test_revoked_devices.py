"""A revoked device holds no seat (its deployments end with the revocation, audited) and its
hardware id may be registered again; an active device's hardware id stays taken. Migrating
back before that (marketplace 0011) keeps every device, and forward again restores it."""

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from edgeplug.audit.models import AuditEvent
from marketplace.models import Deployment, Device, Entitlement
from tests.commerce.conftest import buy_free
from tests.commerce.test_deployments import as_device, deploy, register
from tests.concurrency import needs_row_locks, race
from tests.migrations import migrated_back, refusal_going_back

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


def hardware_ids(model) -> dict[int, str]:
    return dict(model.objects.values_list("pk", "hardware_id"))


def device_constraints() -> set[str]:
    with connection.cursor() as cursor:
        return set(connection.introspection.get_constraints(cursor, Device._meta.db_table))


@pytest.mark.django_db(transaction=True)  # migrating (SQLite's schema editor) needs no atomic
def test_migrating_back_before_0011_keeps_a_reregistered_hardware_id_and_forward_restores_it(
    customer,
):
    """Before 0011 a hardware id named one device of the tenant, revoked or not. Going back
    renames the revoked twins (``~revoked-<pk>``), the active device keeping its id (with no
    active one, the last revoked); forward again gives the revoked their ids back."""
    client, _ = customer
    revoked = register(client, "hw-1")
    revoke(client, revoked)
    active = register(client, "hw-1")
    alone = register(client, "hw-2")  # revoked, its id nobody else's: left alone
    revoke(client, alone)
    older = register(client, "hw-3")  # registered twice, both revoked: no active device
    revoke(client, older)
    last = register(client, "hw-3")
    revoke(client, last)
    before = hardware_ids(Device)

    with migrated_back("marketplace", "0010_certification_status_expired") as migrator:
        at_0010 = hardware_ids(migrator.old_model("Device"))
        constraints_at_0010 = device_constraints()
        migrator.forward("0011_hardware_id_free_once_device_revoked")
        forward_again = hardware_ids(Device)

    revoked_pk, older_pk = revoked["device"]["id"], older["device"]["id"]
    # Both rows kept; the active device and the last revoked "hw-3" keep their ids.
    assert at_0010 == {
        **before,
        revoked_pk: f"hw-1~revoked-{revoked_pk}",
        older_pk: f"hw-3~revoked-{older_pk}",
    }
    assert (at_0010[active["device"]["id"]], at_0010[last["device"]["id"]]) == ("hw-1", "hw-3")
    assert "one_device_per_hardware_id" in constraints_at_0010
    assert forward_again == before
    assert hardware_ids(Device) == before
    assert as_device(active).get("/api/v1/device/assignments").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_migrating_back_before_0011_refuses_a_hardware_id_too_long_to_rename(customer):
    """A revoked twin whose id leaves no room for ``~revoked-<pk>`` (128 characters) stops
    the way back before any device is renamed, naming it: shortening the id would lose it."""
    client, _ = customer
    long_id = "h" * Device._meta.get_field("hardware_id").max_length
    body = {"name": "long", "hardware_id": long_id, "core": "cortex-m4"}
    revoked = client.post("/api/v1/devices", body, format="json").json()
    revoke(client, revoked)
    assert client.post("/api/v1/devices", body, format="json").status_code == 201
    before = hardware_ids(Device)

    refusal = refusal_going_back("marketplace", "0010_certification_status_expired") or ""
    assert f"revoked device(s) {revoked['device']['id']} " in refusal

    assert hardware_ids(Device) == before
    assert "one_active_device_per_hardware_id" in device_constraints()
