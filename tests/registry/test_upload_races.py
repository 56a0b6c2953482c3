"""Uploads racing each other, and the revocation of their key, as concurrent web workers run
them."""

from functools import partial

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from marketplace import services, wpk
from marketplace.models import Agent, AgentVersion, WorkflowPackage
from marketplace.services import upload_package
from marketplace.wpk import upload_wpk
from tests.concurrency import in_thread, needs_row_locks, race, wait_for_blocked_backend
from tests.registry.test_wpk_flow import _wpk
from tests.vendors import _file, package, stored_blobs


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


def test_an_upload_whose_key_is_revoked_while_it_is_stored_is_refused(
    vendor, media_root, monkeypatch
):
    """docs/cli.md: once a key is revoked, uploads signed with it are refused (key_revoked).
    An upload checked the key, then validated and stored the package (seconds, longer to S3)
    and wrote the version without looking at the key again: a revocation answered meanwhile
    (a leaked key revoked while someone uploads with it) left the upload stored, to be
    certified and sold signed by the revoked key."""
    store = services.storage.store_package

    def revoked_while_storing(*args, **kwargs):
        services.revoke_key(vendor.key, actor=vendor.membership.user)
        return store(*args, **kwargs)

    monkeypatch.setattr(services.storage, "store_package", revoked_while_storing)
    response = vendor.upload(package())

    assert (response.status_code, response.json()["code"]) == (422, "key_revoked")
    assert not AgentVersion.objects.exists()
    assert not stored_blobs(media_root)


def test_a_workflow_package_whose_key_is_revoked_while_it_is_checked_is_refused(
    vendor, media_root, monkeypatch
):
    vendor.upload(package())
    check_steps = wpk._check_steps_exist

    def revoked_while_checking(*args, **kwargs):
        services.revoke_key(vendor.key, actor=vendor.membership.user)
        return check_steps(*args, **kwargs)

    monkeypatch.setattr(wpk, "_check_steps_exist", revoked_while_checking)
    response = vendor.client.post("/api/v1/wpk/upload", _wpk(vendor), format="json")

    assert (response.status_code, response.json()["code"]) == (422, "key_revoked")
    assert not WorkflowPackage.objects.exists()


@needs_row_locks
@pytest.mark.django_db(transaction=True)
def test_a_revocation_sent_while_an_upload_commits_is_answered_after_it(vendor, media_root):
    """The other half: an upload past its last look at the key holds the key until it
    commits, so the vendor told "revoked" knows every upload the key let in is already
    listed (they are not refused then: they were let in before the revocation)."""
    data = package()
    answers, errors = [], []

    with transaction.atomic():  # the upload, stored and written but not yet committed
        upload_package(
            vendor.tenant, data, vendor.sign(data), vendor.key.key_id, actor=vendor.membership.user
        )
        revoke = partial(services.revoke_key, vendor.key, actor=vendor.membership.user)
        revoking = in_thread(revoke, answers, errors)
        waited = wait_for_blocked_backend(or_finished=revoking)
    revoking.join()

    assert not errors, errors
    assert waited is not None, "the revocation was answered while the upload had not committed"
    vendor.key.refresh_from_db()
    assert vendor.key.revoked_at is not None
    assert AgentVersion.objects.filter(signing_key=vendor.key).count() == 1
