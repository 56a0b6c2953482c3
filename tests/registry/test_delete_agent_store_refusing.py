"""Deleting an agent while the package store refuses deletes (a read-only disk, S3 answering
AccessDenied): the agent is deleted all the same, and each blob left behind is logged."""

import logging
from unittest import mock

import pytest

from marketplace.models import AgentVersion
from tests.vendors import package, stored_blobs

pytestmark = pytest.mark.django_db


def test_an_agent_is_deleted_though_the_store_keeps_its_blobs_and_each_is_logged(
    vendor, media_root, caplog
):
    """The agent was deleted and committed, yet the vendor got a 500 (and a retry 404); the
    first refused blob stopped the loop, so the other was never tried nor named anywhere."""
    agent_id = vendor.upload(package("1.0.0")).json()["agent"]["id"]
    vendor.upload(package("1.1.0"))
    keys = sorted(AgentVersion.objects.values_list("storage_name", flat=True))
    caplog.set_level(logging.WARNING, logger="marketplace.storage")
    vendor.client.raise_request_exception = False
    with mock.patch(
        "django.core.files.storage.FileSystemStorage.delete",
        side_effect=OSError(30, "Read-only file system"),
    ) as delete:
        response = vendor.client.delete(f"/api/v1/agents/{agent_id}")

    assert response.status_code == 204, response.content
    assert vendor.client.get(f"/api/v1/agents/{agent_id}").status_code == 404
    assert sorted(call.args[0] for call in delete.call_args_list) == keys
    assert len(stored_blobs(media_root)) == 2
    logged = [r.getMessage() for r in caplog.records if r.name == "marketplace.storage"]
    assert [[key in message for key in keys] for message in sorted(logged)] == [
        [True, False],
        [False, True],
    ]
    assert all("Read-only file system" in message for message in logged)
