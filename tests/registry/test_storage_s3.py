"""The S3 storage path (django-storages S3Storage) against a real ``moto_server`` on loopback.

Everything goes through the public API: upload, download, delete and /ready; the bucket is then
inspected with boto3 to see exactly which objects exist and what bytes they hold.
"""

import hashlib
from dataclasses import dataclass
from functools import cached_property

import pytest
from django.core.files.storage import storages
from django.test import Client
from storages.backends.s3 import S3Storage

from marketplace import services
from marketplace.models import AgentVersion
from marketplace.storage import package_path
from tests.network import refusing_port, silent_port
from tests.processes import python_with_settings
from tests.s3_conftest_helpers import (
    ACCESS_KEY,
    SECRET_KEY,
    MotoServer,
    bucket_keys,
    s3_storage,
    start_moto_server,
)
from tests.vendors import package

pytestmark = [pytest.mark.s3, pytest.mark.django_db]


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory):
    pytest.importorskip("moto.server", reason="moto[server] is not installed")
    server = start_moto_server(tmp_path_factory.mktemp("moto"))
    yield server
    server.stop()


@dataclass
class S3:
    server: MotoServer
    bucket: str

    @cached_property
    def client(self):
        return self.server.client()

    def keys(self) -> list[str]:
        return bucket_keys(self.client, self.bucket)

    def read(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def count_puts(self) -> list[str]:
        """The keys the app's storage writes from now on (uploads go through PutObject)."""
        puts: list[str] = []
        events = storages["default"].connection.meta.client.meta.events
        for operation in ("PutObject", "CreateMultipartUpload", "CopyObject"):
            events.register(
                f"before-call.s3.{operation}",
                lambda params, **kwargs: puts.append(params.get("url_path", "")),
            )
        return puts


@pytest.fixture
def s3(moto_server, settings, media_root):
    """A fresh bucket per test, and STORAGES["default"] switched to S3Storage on it.

    Depends on ``media_root`` so the autouse filesystem switch has run before this one.
    """
    bucket = moto_server.create_bucket()
    settings.STORAGES = {
        **settings.STORAGES,
        "default": s3_storage(bucket, moto_server.endpoint_url),
    }
    assert isinstance(storages["default"], S3Storage)
    return S3(moto_server, bucket)


def _key(data: bytes) -> str:
    return package_path(hashlib.sha256(data).hexdigest())


def test_upload_stores_the_package_content_addressed_in_the_bucket(vendor, s3, media_root):
    data = package()
    response = vendor.upload(data)
    assert response.status_code == 201, response.json()
    digest = hashlib.sha256(data).hexdigest()
    assert response.json()["version"]["digest"] == digest
    key = f"packages/sha256/{digest[:2]}/{digest}.epk"
    assert s3.keys() == [key]
    assert s3.read(key) == data
    assert AgentVersion.objects.get().storage_name == key
    assert not list(media_root.rglob("*")), "nothing may land on the local filesystem"


def test_same_bytes_again_are_idempotent_and_store_no_second_object(vendor, s3):
    data = package()
    puts = s3.count_puts()
    first = vendor.upload(data)
    assert first.status_code == 201, first.json()
    assert len(puts) == 1
    again = vendor.upload(data)
    assert again.status_code == 200, again.json()
    assert again.json()["created"] is False
    assert again.json()["version"]["id"] == first.json()["version"]["id"]
    assert len(puts) == 1, f"the same bytes were written to the bucket again: {puts}"
    assert s3.keys() == [_key(data)]
    assert s3.read(_key(data)) == data
    assert AgentVersion.objects.count() == 1


def test_same_version_with_other_bytes_is_409_and_adds_no_object(vendor, s3):
    data = package()
    vendor.upload(data)
    response = vendor.upload(package(description="Different bytes, same version."))
    assert (response.status_code, response.json()["code"]) == (409, "version_exists")
    assert s3.keys() == [_key(data)]


def test_two_versions_are_two_objects(vendor, s3):
    one, two = package("1.0.0"), package("1.1.0")
    assert vendor.upload(one).status_code == 201
    assert vendor.upload(two).status_code == 201
    assert s3.keys() == sorted([_key(one), _key(two)])
    assert (s3.read(_key(one)), s3.read(_key(two))) == (one, two)


def test_download_returns_the_bytes_from_the_bucket_with_their_digest(vendor, s3):
    data = package()
    body = vendor.upload(data).json()
    response = vendor.client.get(body["version"]["download_url"])
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == data
    response.close()
    assert response["X-EdgePlug-Digest"] == f"sha256={hashlib.sha256(data).hexdigest()}"
    assert response["Content-Type"] == "application/octet-stream"


REFUSALS = {
    "bad_signature": (lambda v, d: {"signature": v.sign(package("9.9.9"))}, "bad_signature"),
    "unknown_key": (lambda v, d: {"key_id": "ed25519:0000"}, "unknown_key"),
    "malformed_signature": (lambda v, d: {"signature": "***"}, "malformed_signature"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_refused_upload_leaves_the_bucket_empty(vendor, s3, case):
    make, code = REFUSALS[case]
    data = package()
    response = vendor.upload(data, **make(vendor, data))
    assert 400 <= response.status_code < 500
    assert response.json()["code"] == code
    assert s3.keys() == []
    assert AgentVersion.objects.count() == 0


def test_refused_manifest_leaves_the_bucket_empty(vendor, s3):
    response = vendor.upload(package(vendor="someone-else"))
    assert (response.status_code, response.json()["code"]) == (422, "vendor_mismatch")
    assert s3.keys() == []


def test_a_failure_after_storing_removes_the_object_again(vendor, s3, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "_create_version", fail)
    with pytest.raises(RuntimeError, match="database went away"):
        vendor.upload(package())
    assert s3.keys() == []
    assert AgentVersion.objects.count() == 0


def test_deleting_an_uncertified_agent_deletes_its_objects(vendor, s3):
    body = vendor.upload(package("1.0.0")).json()
    vendor.upload(package("1.1.0"))
    assert len(s3.keys()) == 2
    response = vendor.client.delete(f"/api/v1/agents/{body['agent']['id']}")
    assert response.status_code == 204
    assert s3.keys() == []


def test_ready_reports_storage_ok_on_s3_and_leaves_nothing_behind(s3):
    response = Client().get("/ready")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"]["storage"] == "ok"
    assert s3.keys() == []


def test_readiness_probes_leave_nothing_in_a_versioned_bucket(s3):
    """docs/operations.md offers a versioned bucket as the store's backup; there a written and
    deleted object stays as a version and a delete marker, and the web pods' probe asks /ready
    every 10 s (deploy/k8s/base/web.yaml)."""
    s3.client.put_bucket_versioning(Bucket=s3.bucket, VersioningConfiguration={"Status": "Enabled"})
    for _ in range(6):  # one minute of one web pod's readiness probe
        response = Client().get("/ready")
        assert response.json()["checks"]["storage"] == "ok"
    listed = s3.client.list_object_versions(Bucket=s3.bucket)
    assert (listed.get("Versions", []), listed.get("DeleteMarkers", [])) == ([], [])


def test_a_missing_bucket_leaves_ready_degraded_and_stops_a_starting_pod(s3, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": s3_storage("no-such-bucket", s3.server.endpoint_url),
    }
    serving = Client().get("/ready")  # a pod in service rides out the outage of a shared part
    assert serving.status_code == 200
    assert serving.json()["status"] == "degraded"
    starting = Client().get("/ready?strict")  # a pod starting (a rollout) must see every part
    assert starting.status_code == 503
    checks = starting.json()["checks"]
    assert checks["storage"] == "unavailable (NoSuchBucket)"
    assert checks["database"] == "ok"


# A refused connection answers at once: without the storage's timeouts and retries=0, /ready
# would retry its way past this bound.
@pytest.mark.timeout(10, func_only=True)
def test_ready_is_degraded_naming_storage_when_the_endpoint_is_down(s3, settings):
    with refusing_port() as port:
        closed = f"http://127.0.0.1:{port}"
        settings.STORAGES = {
            **settings.STORAGES,
            "default": s3_storage(s3.bucket, closed, connect_timeout=1, read_timeout=2, retries=0),
        }
        response = Client().get("/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert "Connect" in body["checks"]["storage"], body["checks"]["storage"]
    assert {k: v for k, v in body["checks"].items() if k != "storage"} == {
        "database": "ok",
        "cache": "ok",
        "broker": "ok",
    }


STORE = """
import django
django.setup()
from edgeplug.storage_errors import StorageUnavailable
from marketplace.storage import store_package
try:
    store_package("ab" * 32, b"package")
except StorageUnavailable as exc:
    print(exc.code, type(exc.__cause__).__name__)
"""


def test_an_s3_endpoint_that_hangs_answers_storage_unavailable_within_the_set_bounds(tmp_path):
    """A server started with STORAGE=s3 bounds each S3 call by S3_*: without them botocore
    waits 60 s a read, 3 times, and gunicorn kills the request first (30 s by default)."""
    with silent_port() as port:
        stored = python_with_settings(
            tmp_path,
            STORE,
            STORAGE="s3",
            S3_BUCKET="edgeplug",
            S3_ENDPOINT_URL=f"http://127.0.0.1:{port}",
            AWS_ACCESS_KEY_ID=ACCESS_KEY,
            AWS_SECRET_ACCESS_KEY=SECRET_KEY,
            S3_READ_TIMEOUT_S="1",
            S3_MAX_ATTEMPTS="2",
        )
    assert stored.returncode == 0, stored.stderr[-2000:]
    assert stored.stdout.split() == ["storage_unavailable", "ReadTimeoutError"]
