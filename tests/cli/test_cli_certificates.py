"""Certificates with the CLI: fetch them and the key set, then verify a package offline."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from edgeplug import signing
from tests.packageformat.builders import make_manifest, make_package

pytestmark = pytest.mark.slow

NOW = datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _platform_key(**window) -> tuple[signing.KeyPair, dict]:
    keys = signing.generate_keypair()
    entry = {
        "key_id": keys.key_id,
        "public_key": signing.encode_b64(keys.public_key),
        "not_before": _iso(NOW - timedelta(days=30)),
        "not_after": _iso(NOW + timedelta(days=300)),
        "revoked_at": None,
        **window,
    }
    return keys, entry


def _certificate(keys: signing.KeyPair, package: bytes, /, **changes) -> dict:
    payload = {
        "package": {"digest": "sha256:" + signing.package_digest(package).hex()},
        "name": "pump-anomaly",
        "version": "1.0.0",
        "level": "standard",
        "issued_at": _iso(NOW - timedelta(days=1)),
        "expires_at": _iso(NOW + timedelta(days=364)),
        "key_id": keys.key_id,
        **changes,
    }
    signature = signing.sign_document(keys.private_key, payload)
    return {
        "certificate": payload,
        "signature": signing.encode_b64(signature),
        "key_id": keys.key_id,
    }


@pytest.fixture
def files(tmp_path):
    """files(package, certificate, key) writes a package, its certificate and a key set
    publishing one key, and answers the verify command's arguments."""

    def write(package: bytes, certificate: dict, key: dict) -> list[str]:
        (tmp_path / "agent.epk").write_bytes(package)
        (tmp_path / "certificate.json").write_text(json.dumps(certificate))
        (tmp_path / "keys.json").write_text(json.dumps({"keys": [key]}))
        return [
            str(tmp_path / "agent.epk"),
            "--certificate",
            str(tmp_path / "certificate.json"),
            "--keyset",
            str(tmp_path / "keys.json"),
        ]

    return write


def test_a_certified_package_verifies_offline(cli, files):
    keys, entry = _platform_key()
    package = make_package()
    out = cli.ok("verify", *files(package, _certificate(keys, package), entry))
    assert f"certificate: ok (standard level, expires {_iso(NOW + timedelta(days=364))}" in out
    assert f"key {keys.key_id})" in out


def test_a_certificate_for_other_bytes_is_refused(cli, files):
    keys, entry = _platform_key()
    certified = make_package()
    other = make_package(make_manifest(version="1.0.1"))
    cli.refused(
        "verify", *files(other, _certificate(keys, certified), entry), code="package_mismatch"
    )


def test_a_certificate_with_a_forged_body_is_refused(cli, files):
    keys, entry = _platform_key()
    package = make_package()
    certificate = _certificate(keys, package)
    certificate["certificate"]["level"] = "hardware"
    cli.refused("verify", *files(package, certificate, entry), code="bad_signature")


def test_a_certificate_from_a_revoked_key_is_refused(cli, files):
    keys, entry = _platform_key(revoked_at=_iso(NOW))
    package = make_package()
    cli.refused("verify", *files(package, _certificate(keys, package), entry), code="key_revoked")


def test_a_certificate_whose_key_is_not_published_is_refused(cli, files):
    keys, _ = _platform_key()
    _, unrelated = _platform_key()
    package = make_package()
    cli.refused(
        "verify", *files(package, _certificate(keys, package), unrelated), code="unknown_key"
    )


def test_an_expired_certificate_is_refused(cli, files):
    keys, entry = _platform_key()
    package = make_package()
    certificate = _certificate(keys, package, expires_at=_iso(NOW - timedelta(minutes=1)))
    cli.refused("verify", *files(package, certificate, entry), code="certificate_expired")


@pytest.mark.parametrize(
    "window",
    [
        {"not_before": (NOW - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%S")},  # no timezone
        {"not_after": "next year"},
        {"not_after": None},
    ],
)
def test_a_key_set_with_an_unreadable_time_is_refused_not_a_crash(cli, files, window):
    keys, entry = _platform_key(**window)
    package = make_package()
    cli.refused(
        "verify", *files(package, _certificate(keys, package), entry), code="keyset_malformed"
    )


@pytest.mark.parametrize(
    "keyset",
    [
        {"keys": ["x"]},
        {"keys": "x"},
        {"keys": [{"key_id": "KEY"}]},  # the certificate's key, without its public key
        {"keys": [{"key_id": "KEY", "public_key": 7}]},
    ],
)
def test_a_key_set_not_of_its_shape_is_refused_not_a_crash(cli, files, tmp_path, keyset):
    """Each was a Python traceback (AttributeError, KeyError)."""
    keys, entry = _platform_key()
    package = make_package()
    args = files(package, _certificate(keys, package), entry)
    text = json.dumps(keyset).replace("KEY", keys.key_id)
    (tmp_path / "keys.json").write_text(text)
    refused = cli.refused("verify", *args, code="keyset_malformed")
    assert "Traceback" not in refused.stderr


@pytest.mark.parametrize("body", ["x", ["x"], None])
def test_a_certificate_body_that_is_not_an_object_is_refused_not_a_crash(cli, files, body):
    keys, entry = _platform_key()
    package = make_package()
    document = {**_certificate(keys, package), "certificate": body}
    refused = cli.refused("verify", *files(package, document, entry), code="certificate_malformed")
    assert "Traceback" not in refused.stderr


@pytest.mark.parametrize("named", ["sha256:0000", ["x"], None])
def test_a_certificate_whose_package_is_not_an_object_is_malformed_not_a_crash(cli, files, named):
    """Signed, current, by a published key, but ``package`` is no ``{"digest": ...}``: a
    string was an AttributeError traceback, and an absent one said ``package_mismatch``."""
    keys, entry = _platform_key()
    package = make_package()
    args = files(package, _certificate(keys, package, package=named), entry)
    refused = cli.refused("verify", *args, code="certificate_malformed")
    assert "the certificate's package is not an object" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_a_certificate_file_that_is_not_json_is_refused(cli, files, tmp_path):
    _, entry = _platform_key()
    args = files(make_package(), {}, entry)
    (tmp_path / "certificate.json").write_text("<html>")
    cli.refused("verify", *args, code="certificate_malformed")


def test_certificate_without_keyset_is_wrong_usage(cli, files, tmp_path):
    keys, entry = _platform_key()
    package = make_package()
    files(package, _certificate(keys, package), entry)
    result = cli(
        "verify", str(tmp_path / "agent.epk"), "--certificate", str(tmp_path / "certificate.json")
    )
    assert result.returncode == 2


def test_fetched_certificate_and_keyset_verify_the_package(cli, stub_api, tmp_path):
    keys, entry = _platform_key()
    package = make_package()
    (tmp_path / "agent.epk").write_bytes(package)
    stub_api.answer(
        "/api/v1/agents/7/versions/1.0.0/certificate", (200, _certificate(keys, package))
    )
    stub_api.answer("/.well-known/edgeplug/keys.json", (200, {"keys": [entry]}))
    cli.ok("login", "--server", stub_api.url, "--email", "dev@acme.example")

    cli.ok("fetch-certificate", "7", "1.0.0", "--out", str(tmp_path / "cert.json"))
    cli.ok("fetch-keyset", "--out", str(tmp_path / "keys.json"))
    out = cli.ok(
        "verify",
        str(tmp_path / "agent.epk"),
        "--certificate",
        str(tmp_path / "cert.json"),
        "--keyset",
        str(tmp_path / "keys.json"),
    )
    assert "certificate: ok" in out
    certificate_request = next(r for r in stub_api.requests if r[1].endswith("/certificate"))
    assert certificate_request[2] == "Bearer stub-access"
    keyset_request = next(r for r in stub_api.requests if r[1].endswith("keys.json"))
    assert keyset_request[2] is None, "the key set is public"


def test_fetch_keyset_needs_no_sign_in(cli, stub_api, tmp_path):
    _, entry = _platform_key()
    stub_api.answer("/.well-known/edgeplug/keys.json", (200, {"keys": [entry]}))
    cli.ok("fetch-keyset", "--server", stub_api.url, "--out", str(tmp_path / "keys.json"))
    assert json.loads((tmp_path / "keys.json").read_text()) == {"keys": [entry]}


def test_a_missing_certificate_is_reported_with_the_server_code(cli, stub_api, tmp_path):
    cli.ok("login", "--server", stub_api.url, "--email", "dev@acme.example")
    cli.refused(
        "fetch-certificate", "7", "1.0.0", "--out", str(tmp_path / "cert.json"), code="not_found"
    )
    assert not (tmp_path / "cert.json").exists()


@pytest.mark.parametrize(
    ("written", "code"),
    [("certificate.json", "certificate_malformed"), ("keys.json", "keyset_malformed")],
)
def test_a_file_naming_a_key_twice_is_refused_as_every_door_refuses_it(
    cli, files, tmp_path, written, code
):
    """A certificate or key set naming a key twice in one object (here the certificate's
    ``level``, or the key's ``revoked_at``, whose last copy Python's json kept) is refused, as
    the API and a package's manifest refuse such JSON: readers that keep different copies
    would read two documents, and only one of them was signed or published."""
    keys, entry = _platform_key()
    package = make_package()
    args = files(package, _certificate(keys, package), entry)
    path = tmp_path / written
    field = '"level": ' if written == "certificate.json" else '"revoked_at": '
    text = path.read_text()
    path.write_text(text.replace(field, field + '"premium", ' + field, 1))
    assert text.count(field) == 1 and path.read_text().count(field) == 2

    refused = cli.refused("verify", *args, code=code)

    assert "appears twice in one object" in refused.stderr
    assert "Traceback" not in refused.stderr
