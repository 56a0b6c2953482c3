"""Platform signing keys rotate: several published, one active, old certificates still verify,
a revoked key's certificates fail, and a run cannot be signed by a revoked key."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from certification.certificates import platform_keys
from edgeplug.certificates import CertificateInvalid, verify_certificate
from tests.certification.conftest import model_package

pytestmark = pytest.mark.django_db


@pytest.fixture
def key_a():
    return platform_keys.generate_key_entry()


@pytest.fixture
def key_b():
    return platform_keys.generate_key_entry()


def _configure(settings, keys, active):
    settings.PLATFORM_SIGNING_KEYS = json.dumps({"keys": keys, "active": active})


def _keyset():
    response = Client().get("/.well-known/edgeplug/keys.json")
    assert response.status_code == 200
    assert "max-age=300" in response["Cache-Control"]
    return response.json()


def _revoked(entry):
    when = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    return {**entry, "private_key": None, "revoked_at": when.strftime("%Y-%m-%dT%H:%M:%SZ")}


def test_rotation_keeps_old_certificates_valid_and_revocation_kills_them(
    certify, settings, key_a, key_b
):
    _configure(settings, [key_a], key_a["key_id"])
    old = certify(model_package(version="1.0.0")).certificate.document()
    assert old["key_id"] == key_a["key_id"]

    # Rotate: B signs from now on; A stays published (public part only) for old certificates.
    retired_a = {**key_a, "private_key": None}
    _configure(settings, [retired_a, key_b], key_b["key_id"])
    new = certify(model_package(version="1.1.0")).certificate.document()
    assert new["key_id"] == key_b["key_id"]

    keyset = _keyset()
    assert keyset["active_key_id"] == key_b["key_id"]
    assert {k["key_id"]: k["status"] for k in keyset["keys"]} == {
        key_a["key_id"]: "valid",
        key_b["key_id"]: "valid",
    }
    assert all("private_key" not in k for k in keyset["keys"])
    assert verify_certificate(old, keyset).key_id == key_a["key_id"]
    assert verify_certificate(new, keyset).key_id == key_b["key_id"]

    # Revoke A: its certificates fail, B's still verify.
    _configure(settings, [_revoked(key_a), key_b], key_b["key_id"])
    keyset = _keyset()
    assert {k["key_id"]: k["status"] for k in keyset["keys"]}[key_a["key_id"]] == "revoked"
    with pytest.raises(CertificateInvalid) as caught:
        verify_certificate(old, keyset)
    assert caught.value.code == "key_revoked"
    assert verify_certificate(new, keyset).key_id == key_b["key_id"]


def test_a_certificate_from_an_unpublished_key_is_refused(certify, settings, key_a, key_b):
    _configure(settings, [key_a], key_a["key_id"])
    document = certify(model_package()).certificate.document()
    _configure(settings, [key_b], key_b["key_id"])
    with pytest.raises(CertificateInvalid) as caught:
        verify_certificate(document, _keyset())
    assert caught.value.code == "unknown_key"


def test_a_revoked_active_key_never_signs(certify, settings, key_a):
    _configure(
        settings, [{**_revoked(key_a), "private_key": key_a["private_key"]}], key_a["key_id"]
    )
    run = certify(model_package())
    signing = run.results.get(test_suite="signing")
    assert (run.status, signing.test_result) == ("error", "error")
    assert signing.error_code == "platform_key_unavailable"
    assert not hasattr(run, "certificate")


def test_a_key_pair_that_does_not_match_is_a_configuration_error(key_a, key_b):
    with pytest.raises(platform_keys.PlatformKeyError):
        platform_keys.parse_keyring(
            {"keys": [{**key_a, "public_key": key_b["public_key"]}], "active": key_a["key_id"]}
        )
