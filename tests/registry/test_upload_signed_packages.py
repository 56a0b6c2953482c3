"""Signed uploads: verified before anything is stored, idempotent, immutable."""

import pytest

from edgeplug import signing
from edgeplug.audit.models import AuditEvent
from marketplace.models import AgentVersion
from tests.vendors import package, stored_blobs

pytestmark = pytest.mark.django_db


def test_upload_stores_version_content_addressed(vendor, media_root):
    data = package()
    response = vendor.upload(data)
    assert response.status_code == 201, response.json()
    body = response.json()
    digest = signing.package_digest(data).hex()
    assert body["created"] is True
    assert body["version"]["digest"] == digest
    assert body["version"]["size"] == len(data)
    assert body["agent"]["name"] == "pump-anomaly"
    assert body["version"]["certification_status"] == "uncertified"
    blobs = stored_blobs(media_root)
    assert [b.name for b in blobs] == [f"{digest}.epk"]
    assert blobs[0].read_bytes() == data
    assert AuditEvent.objects.filter(action="package_uploaded").count() == 1


def test_same_bytes_again_return_the_existing_version(vendor):
    data = package()
    first = vendor.upload(data).json()
    again = vendor.upload(data)
    assert again.status_code == 200
    assert again.json()["created"] is False
    assert again.json()["version"]["id"] == first["version"]["id"]
    assert AgentVersion.objects.count() == 1


def test_same_version_with_other_bytes_is_409(vendor, media_root):
    vendor.upload(package())
    other = package(description="Different bytes, same version.")
    response = vendor.upload(other)
    assert (response.status_code, response.json()["code"]) == (409, "version_exists")
    assert AgentVersion.objects.count() == 1
    assert len(stored_blobs(media_root)) == 1


@pytest.mark.parametrize(
    ("stored", "sent"),
    [("1.0.0", "1.0.0+build.7"), ("1.0.0+build.7", "1.0.0"), ("2.0.0-rc.1+a", "2.0.0-rc.1+b")],
)
def test_a_version_differing_only_in_build_metadata_is_the_version_already_stored(
    vendor, media_root, stored, sent
):
    """SemVer ignores build metadata in precedence, and so does the registry's order: taken
    beside 1.0.0, 1.0.0+build.7 with other bytes was a second 1.0.0, the newest by upload time,
    and a workflow step ``==1.0.0`` matched both."""
    vendor.upload(package(stored))
    response = vendor.upload(package(sent, description="Other bytes."))
    assert (response.status_code, response.json()["code"]) == (409, "version_exists")
    assert f"exists as {stored} " in response.json()["detail"]
    assert list(AgentVersion.objects.values_list("version", flat=True)) == [stored]
    assert len(stored_blobs(media_root)) == 1


def test_the_same_bytes_of_a_version_with_build_metadata_again_return_it(vendor):
    data = package("1.0.0+build.7")
    first = vendor.upload(data).json()
    again = vendor.upload(data)
    assert (again.status_code, again.json()["created"]) == (200, False)
    assert again.json()["version"]["id"] == first["version"]["id"]


def test_another_agent_may_have_a_version_of_the_same_precedence(vendor):
    vendor.upload(package("1.0.0"))
    response = vendor.upload(package("1.0.0+build.7", name="valve-monitor"))
    assert response.status_code == 201, response.json()


def test_manifest_vendor_must_be_the_uploading_tenant(vendor, media_root):
    response = vendor.upload(package(vendor="someone-else"))
    assert (response.status_code, response.json()["code"]) == (422, "vendor_mismatch")
    assert not stored_blobs(media_root)


def _revoked(vendor):
    vendor.key.revoked_at = vendor.key.created_at
    vendor.key.save()
    return {}


BAD_SIGNATURES = {
    "malformed_signature": (lambda v, d: {"signature": "***"}, "malformed_signature"),
    "short_signature": (
        lambda v, d: {"signature": signing.encode_b64(b"x" * 10)},
        "malformed_signature",
    ),
    "unknown_key": (lambda v, d: {"key_id": "ed25519:0000"}, "unknown_key"),
    "revoked_key": (lambda v, d: _revoked(v), "key_revoked"),
    "wrong_private_key": (
        lambda v, d: {"signature": v.sign(d, signing.generate_keypair())},
        "bad_signature",
    ),
    "signature_of_another_package": (
        lambda v, d: {"signature": v.sign(package("9.9.9"))},
        "bad_signature",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_SIGNATURES))
def test_bad_signatures_are_refused_and_nothing_is_stored(vendor, media_root, case):
    make, code = BAD_SIGNATURES[case]
    data = package()
    response = vendor.upload(data, **make(vendor, data))
    assert response.json()["code"] == code
    assert 400 <= response.status_code < 500
    assert AgentVersion.objects.count() == 0
    assert not stored_blobs(media_root)


def test_key_of_another_vendor_is_unknown(vendor, make_vendor, media_root):
    other = make_vendor(slug="other-vendor")
    data = package()
    response = vendor.upload(data, signature=other.sign(data), key_id=other.key.key_id)
    assert (response.status_code, response.json()["code"]) == (422, "unknown_key")
    assert not stored_blobs(media_root)


def test_oversized_upload_is_413(vendor, settings, media_root):
    settings.PACKAGE_LIMITS = {**settings.PACKAGE_LIMITS, "max_package_bytes": 1000}
    response = vendor.upload(package())
    assert response.status_code == 413
    assert not stored_blobs(media_root)


def test_operator_cannot_upload(make_vendor):
    operator = make_vendor(role="operator")
    assert operator.upload(package()).status_code == 403


def test_missing_fields_are_named(vendor):
    response = vendor.client.post("/api/v1/agents/upload", {"key_id": "x"}, format="multipart")
    assert response.status_code == 400
    assert {"package", "signature"} <= set(response.json()["errors"])
