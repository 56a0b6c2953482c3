"""Uploads racing each other, as concurrent web workers run them."""

from functools import partial

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from marketplace.models import Agent, AgentVersion, WorkflowPackage
from marketplace.services import upload_package
from marketplace.wpk import upload_wpk
from tests.concurrency import in_thread, needs_row_locks, race, wait_for_blocked_backend
from tests.registry.test_wpk_flow import _wpk
from tests.vendors import _file, package


@pytest.mark.django_db(transaction=True)
@needs_row_locks
def test_first_uploads_of_a_new_agent_at_once_all_land_under_one_agent(vendor, media_root):
    auth = vendor.client._credentials
    packages = [package(version=f"1.{n}.0") for n in range(4)]

    def upload(data: bytes) -> int:
        client = APIClient()
        client.credentials(**auth)
        response = client.post(
            "/api/v1/agents/upload",
            {"package": _file(data), "signature": vendor.sign(data), "key_id": vendor.key.key_id},
            format="multipart",
        )
        return response.status_code

    assert race(upload, packages) == [201] * 4
    agent = Agent.objects.get(tenant=vendor.tenant, name="pump-anomaly")
    versions = AgentVersion.objects.filter(agent=agent).values_list("version", flat=True)
    assert sorted(versions) == [f"1.{n}.0" for n in range(4)]


@needs_row_locks
@pytest.mark.django_db(transaction=True)
def test_the_same_upload_sent_twice_at_once_is_one_version_both_times(vendor, media_root):
    """A client's retry while its first upload is still being stored: both answers are that
    version, as the retry would get after it (it was 409 "uploaded concurrently")."""
    data = package()
    answers, errors = [], []

    with transaction.atomic():  # the first upload, stored but not yet committed
        first = upload_package(
            vendor.tenant, data, vendor.sign(data), vendor.key.key_id, actor=vendor.membership.user
        )
        second = in_thread(partial(vendor.upload, data), answers, errors)
        wait_for_blocked_backend()  # the retry's insert waits on the first one's row
    second.join()

    assert not errors, errors
    [answer] = answers
    assert answer.status_code == 200, answer.json()
    assert answer.json()["version"]["id"] == first.version.pk
    assert AgentVersion.objects.filter(tenant=vendor.tenant).count() == 1


@needs_row_locks
@pytest.mark.django_db(transaction=True)
def test_a_version_differing_only_in_build_metadata_sent_at_once_is_refused(vendor, media_root):
    """1.0.0+build.7 sent while 1.0.0 is being stored (the agent exists: it waits for the
    agent's row) finds 1.0.0 when it goes on: version_exists, as it would after it."""
    vendor.upload(package("0.9.0"))
    data = package("1.0.0")
    answers, errors = [], []

    with transaction.atomic():  # 1.0.0, stored but not yet committed
        upload_package(
            vendor.tenant, data, vendor.sign(data), vendor.key.key_id, actor=vendor.membership.user
        )
        twin = package("1.0.0+build.7", description="Other bytes.")
        second = in_thread(partial(vendor.upload, twin), answers, errors)
        wait_for_blocked_backend()  # the twin waits for the agent's row
    second.join()

    assert not errors, errors
    [answer] = answers
    assert (answer.status_code, answer.json()["code"]) == (409, "version_exists"), answer.json()
    versions = AgentVersion.objects.filter(tenant=vendor.tenant).values_list("version", flat=True)
    assert sorted(versions) == ["0.9.0", "1.0.0"]


def _wpk_sent_during(vendor, stored: dict, sent: dict):
    """The API's answer to ``sent`` posted while the upload of ``stored`` is stored but not
    yet committed (its insert waits on that row), and the row ``stored`` became."""
    answers, errors = [], []
    with transaction.atomic():  # the first upload, stored but not yet committed
        fields = {field: stored[field] for field in ("name", "version", "content", "key_id")}
        first = upload_wpk(
            vendor.tenant, **fields, signature_b64=stored["signature"], actor=vendor.membership.user
        )
        post = partial(vendor.client.post, "/api/v1/wpk/upload", sent, format="json")
        second = in_thread(post, answers, errors)
        wait_for_blocked_backend()
    second.join()
    assert not errors, errors
    [answer] = answers
    return answer, first.wpk


@needs_row_locks
@pytest.mark.django_db(transaction=True)
def test_the_same_workflow_package_sent_twice_at_once_is_one_package_both_times(vendor, media_root):
    """A retry of a WPK upload while the first is still being stored answers that package, as
    the retry sent after it does (it was 409 "uploaded concurrently")."""
    vendor.upload(package())
    document = _wpk(vendor)

    answer, first = _wpk_sent_during(vendor, document, document)

    assert answer.status_code == 200, answer.json()
    assert answer.json()["id"] == first.pk
    assert WorkflowPackage.objects.filter(tenant=vendor.tenant).count() == 1


@needs_row_locks
@pytest.mark.django_db(transaction=True)
def test_another_workflow_package_of_the_same_version_at_once_is_refused(vendor, media_root):
    vendor.upload(package())
    other_steps = [{"agent": "acme-robotics/pump-anomaly", "version": "1.0.0"}]

    answer, first = _wpk_sent_during(vendor, _wpk(vendor), _wpk(vendor, steps=other_steps))

    assert (answer.status_code, answer.json()["code"]) == (409, "version_exists")
    assert list(WorkflowPackage.objects.filter(tenant=vendor.tenant)) == [first]
