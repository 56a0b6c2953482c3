"""The package store fails during an upload (a read-only storage directory, S3 answering
with errors): the vendor gets a clear 503 ``storage_unavailable`` and no version row exists
without its blob; once the store works again the same upload succeeds."""

import os

import pytest

from marketplace.models import AgentVersion
from tests.s3_conftest_helpers import s3_storage
from tests.vendors import package, stored_blobs

pytestmark = [pytest.mark.faults, pytest.mark.django_db]


def _assert_refused_cleanly(response) -> None:
    assert response.status_code == 503, response.json()
    body = response.json()
    assert body["code"] == "storage_unavailable"
    assert "nothing was stored" in body["detail"]
    assert not AgentVersion.objects.exists()


@pytest.mark.skipif(
    os.geteuid() == 0,
    reason="root ignores file modes, so a read-only directory cannot be made by chmod; "
    "the S3 test below drives the same refusal",
)
def test_a_read_only_storage_directory_refuses_the_upload_with_503(vendor, media_root):
    data = package("1.0.0")
    media_root.chmod(0o555)
    try:
        _assert_refused_cleanly(vendor.upload(data))
        assert stored_blobs(media_root) == []
    finally:
        media_root.chmod(0o755)
    retried = vendor.upload(data)
    assert retried.status_code == 201, retried.json()
    assert len(stored_blobs(media_root)) == 1


@pytest.mark.s3
def test_s3_errors_refuse_the_upload_with_503_and_store_nothing(vendor, moto, settings):
    bucket = moto.create_bucket()
    # The bucket the deployment names is gone: every write answers NoSuchBucket.
    settings.STORAGES = {
        **settings.STORAGES,
        "default": s3_storage("gone-bucket", moto.endpoint_url),
    }
    data = package("1.0.0")
    _assert_refused_cleanly(vendor.upload(data))

    settings.STORAGES = {**settings.STORAGES, "default": s3_storage(bucket, moto.endpoint_url)}
    retried = vendor.upload(data)
    assert retried.status_code == 201, retried.json()
    version = AgentVersion.objects.get()
    keys = [o["Key"] for o in moto.client().list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == [version.storage_name]
