"""A deployment is removed once, whatever else changes the device at that moment: a second
removal, or the device's revocation, finds it gone (404, no second audit event), and the agent
deployed there again meanwhile takes the seat the removal freed."""

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from edgeplug.audit.models import AuditEvent
from marketplace import devices
from marketplace.models import AgentVersion, Deployment, Device
from tests.commerce.conftest import buy_free, publish
from tests.commerce.test_deployments import deploy, register
from tests.concurrency import in_thread, needs_row_locks, wait_for_blocked_backend
from tests.factories import simulated_certificate
from tests.vendors import package

pytestmark = [pytest.mark.django_db(transaction=True), needs_row_locks]


@pytest.fixture
def deployed(customer, published, agent, make_plan, certificate):
    """(client, device, deployment): the customer's agent deployed on its one seat."""
    client, _ = customer
    buy_free(client, agent, make_plan)
    device = register(client, "hw-1")
    assert deploy(client, device, published).status_code == 201
    return client, device, Deployment.objects.get()


def while_uncommitted(change, request):
    """``request()`` (another admin's, on its own connection) sent while ``change()`` (the
    first admin's request) is not yet committed, and answered once it is."""
    answers, errors = [], []
    with transaction.atomic():
        change()
        other = in_thread(request, answers, errors)
        wait_for_blocked_backend(other)
    other.join()
    assert not errors, errors
    [answer] = answers
    return answer


def while_removed(deployment: Deployment, request):
    """``request()`` sent while DELETE …/deployments/{id} is not yet committed."""
    return while_uncommitted(
        lambda: devices.remove_deployment(Deployment.objects.get(pk=deployment.pk)), request
    )


def another_admin(client) -> APIClient:
    api = APIClient()
    api.credentials(**client._credentials)
    api.raise_request_exception = False  # a 500 is an answer to check, as the admin saw it
    return api


def removals() -> int:
    return AuditEvent.objects.filter(action="deployment_removed").count()


def test_the_agent_deployed_again_while_removed_takes_the_freed_seat(vendor, deployed):
    client, device, deployment = deployed
    body = vendor.upload(package("1.1.0")).json()
    newer = publish(AgentVersion.objects.get(pk=body["version"]["id"]))
    simulated_certificate(newer)

    answer = while_removed(deployment, lambda: deploy(another_admin(client), device, newer))

    # before: 500 "Save with update_fields did not affect any rows" (it updated the removed one)
    assert answer.status_code == 201, answer.content
    [redeployed] = Deployment.objects.all()
    assert redeployed.pk == answer.json()["id"] != deployment.pk
    assert redeployed.version == newer
    assert removals() == 1


def test_a_deployment_removed_twice_at_once_is_removed_once(deployed):
    client, device, deployment = deployed
    url = f"/api/v1/devices/{device['device']['id']}/deployments/{deployment.pk}"

    answer = while_removed(deployment, lambda: another_admin(client).delete(url))

    assert answer.status_code == 404, answer.content  # before: 204, and a second event
    assert answer.json()["code"] == "not_found"
    assert removals() == 1


def test_a_device_revoked_while_its_deployment_is_removed_ends_it_once(deployed):
    client, device, deployment = deployed
    url = f"/api/v1/devices/{device['device']['id']}/revoke"

    answer = while_removed(deployment, lambda: another_admin(client).post(url))

    assert answer.status_code == 200, answer.content
    assert removals() == 1  # before: 2, the revocation ending the removed deployment again
    assert AuditEvent.objects.filter(action="device_revoked").count() == 1


def test_a_deployment_removed_while_its_device_is_revoked_is_404(deployed):
    client, device, deployment = deployed
    url = f"/api/v1/devices/{device['device']['id']}/deployments/{deployment.pk}"

    answer = while_uncommitted(  # POST …/revoke, not yet committed
        lambda: devices.revoke_device(Device.objects.get(pk=device["device"]["id"])),
        lambda: another_admin(client).delete(url),
    )

    assert answer.status_code == 404, answer.content  # before: 204, and a second event
    assert removals() == 1
