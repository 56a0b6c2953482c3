"""Offline key handling: keygen writes a private key file, sign and verify use it."""

from __future__ import annotations

import json
import stat

import pytest

from edgeplug import signing
from tests.packageformat.builders import make_manifest, make_package

pytestmark = pytest.mark.slow


def test_keygen_writes_a_private_key_file_and_prints_the_public_half(cli):
    out = cli.ok("keygen")
    path = cli.config_dir / "signing-key.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    document = json.loads(path.read_text())
    seed = signing.decode_private_key(document["private_key"])
    public = signing.public_key_from_private(seed)
    assert document["key_id"] == signing.key_id(public)
    assert f"key id:      {document['key_id']}" in out
    assert f"public key:  {signing.encode_b64(public)}" in out


def test_keygen_never_overwrites_a_key_without_force(cli, tmp_path):
    target = tmp_path / "vendor.key"
    cli.ok("keygen", "--out", str(target))
    first = target.read_text()
    cli.refused("keygen", "--out", str(target), code="file_exists")
    assert target.read_text() == first
    cli.ok("keygen", "--out", str(target), "--force")
    assert target.read_text() != first
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_sign_writes_a_detached_signature_that_verifies(cli, tmp_path):
    cli.ok("keygen")
    package = tmp_path / "agent.epk"
    package.write_bytes(make_package())
    out = cli.ok("sign", str(package))
    key = json.loads((cli.config_dir / "signing-key.json").read_text())
    assert "package:   pump-anomaly 1.0.0 (sha256:" in out
    assert f"key id:    {key['key_id']}" in out
    signature = signing.decode_signature((tmp_path / "agent.epk.sig").read_text())
    signing.verify_package(
        signing.decode_public_key(key["public_key"]), package.read_bytes(), signature
    )

    verified = cli.ok("verify", str(package), "--public-key", key["public_key"])
    assert "package:     ok (pump-anomaly 1.0.0, sha256:" in verified
    assert f"signature:   ok (key {key['key_id']})" in verified


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"plain text, not a zip", "not_a_zip"),
        (make_package(make_manifest(version=None)), "schema_violation"),
        (None, "package_too_large"),  # a sparse file one byte over the 64 MiB cap
    ],
    ids=["text", "manifest_without_version", "over_the_cap"],
)
def test_sign_refuses_what_is_not_a_package_and_writes_no_signature(cli, tmp_path, content, code):
    """The validator ``verify`` and the server run: a vendor learns it before uploading."""
    cli.ok("keygen")
    package = tmp_path / "agent.epk"
    if content is None:
        with package.open("wb") as sparse:
            sparse.truncate(64 * 1024 * 1024 + 1)
    else:
        package.write_bytes(content)
    refused = cli.refused("sign", str(package), code=code)
    assert not (tmp_path / "agent.epk.sig").exists()
    if content is None:  # read from the file's size, before its bytes
        assert "limited to 67108864 bytes; this one is 67108865 bytes." in refused.stderr


def test_verify_refuses_a_signature_from_another_key(cli, tmp_path):
    cli.ok("keygen")
    cli.ok("keygen", "--out", str(tmp_path / "other.key"))
    package = tmp_path / "agent.epk"
    package.write_bytes(make_package())
    cli.ok("sign", str(package), "--key", str(tmp_path / "other.key"))
    cli.refused("verify", str(package), "--key", cli.key_file, code="bad_signature")


@pytest.mark.parametrize("given", ["", " "])
def test_verify_with_an_empty_public_key_is_wrong_usage(cli, tmp_path, given):
    """``--public-key "$PUBKEY"`` with the variable unset: verify said ok and exited 0, the
    signature never checked (no .sig file need exist)."""
    package = tmp_path / "agent.epk"
    package.write_bytes(make_package())
    result = cli("verify", str(package), "--public-key", given)
    assert result.returncode == 2 and "--public-key is empty" in result.stderr
    assert "package:" not in result.stdout


def test_verify_refuses_a_package_changed_after_signing(cli, tmp_path):
    cli.ok("keygen")
    package = tmp_path / "agent.epk"
    package.write_bytes(make_package())
    cli.ok("sign", str(package))
    package.write_bytes(make_package(make_manifest(description="Changed after signing.")))
    result = cli("verify", str(package), "--key", cli.key_file)
    assert result.returncode == 1
    assert "error: bad_signature: " in result.stderr


def test_verify_refuses_a_malformed_signature_file(cli, tmp_path):
    cli.ok("keygen")
    package = tmp_path / "agent.epk"
    package.write_bytes(make_package())
    (tmp_path / "agent.epk.sig").write_text("bm90IGEgc2lnbmF0dXJl\n")
    cli.refused("verify", str(package), "--key", cli.key_file, code="malformed_signature")


def test_verify_checks_the_archive_itself(cli, tmp_path):
    package = tmp_path / "agent.epk"
    package.write_bytes(b"plain text, not a zip")
    cli.refused("verify", str(package), code="not_a_zip")


@pytest.mark.parametrize("field", ["key_id", "public_key"])
def test_a_tampered_key_file_is_refused(cli, tmp_path, field):
    cli.ok("keygen")
    path = cli.config_dir / "signing-key.json"
    document = json.loads(path.read_text())
    other = signing.generate_keypair().public_key
    document[field] = signing.key_id(other) if field == "key_id" else signing.encode_b64(other)
    path.write_text(json.dumps(document))
    package = tmp_path / "agent.epk"
    package.write_bytes(make_package())
    cli.refused("sign", str(package), code="invalid_key_file")
    assert not (tmp_path / "agent.epk.sig").exists()
