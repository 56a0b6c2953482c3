"""An --out replaces only a file of the kind the command writes (or an empty one): `sign
--out` silently replaced the signing key or the package being signed, and any --out any file."""

from __future__ import annotations

import json
import os
import zipfile

import pytest

from tests.packageformat.builders import make_package

pytestmark = pytest.mark.slow


@pytest.fixture
def package(tmp_path):
    path = tmp_path / "pump.epk"
    path.write_bytes(make_package())
    return path


def test_sign_refuses_to_write_over_the_package_or_the_key_before_any_work(cli, package, tmp_path):
    cli.ok("keygen")
    other_key = tmp_path / "other.key"
    cli.ok("keygen", "--out", str(other_key))
    before = {
        path: path.read_bytes()
        for path in (package, other_key, cli.config_dir / "signing-key.json")
    }
    for args, what in (
        (("--out", str(package)), "the package being signed"),
        (("--out", cli.key_file), "the signing key file"),
        (("--key", str(other_key), "--out", str(other_key)), "the signing key file"),
        (
            ("--key", str(other_key), "--out", str(tmp_path / "." / "other.key")),
            "the signing key file",
        ),
    ):
        result = cli("sign", str(package), *args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert what in result.stderr, result.stderr
    assert {path: path.read_bytes() for path in before} == before


def test_an_out_of_another_kind_is_file_exists_and_left_as_it_was(cli, stub_api, package, tmp_path):
    cli.ok("keygen")
    cli.ok("login", "--server", stub_api.url, "--email", "dev@acme.example")
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    report = tmp_path / "report.docx"  # a zip, but no package
    with zipfile.ZipFile(report, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    key = cli.config_dir / "signing-key.json"
    before = {path: path.read_bytes() for path in (key, package, notes, report)}
    agent_dir = tmp_path / "agent"
    agent_dir.mkdir()
    for command in (
        ("sign", str(package), "--out", str(notes)),
        ("sign", str(package), "--out", str(fifo)),
        ("fetch-keyset", "--out", cli.key_file),
        ("fetch-keyset", "--out", str(package)),
        ("fetch-certificate", "1", "1.0.0", "--out", str(package)),
        ("fetch-certificate", "1", "1.0.0", "--out", str(notes)),
        ("pack", str(agent_dir), "--out", cli.key_file),
        ("pack", str(agent_dir), "--out", str(report)),
    ):
        result = cli.refused(*command, code="file_exists")
        assert "refusing to replace it" in result.stderr, result.stderr
    assert {path: path.read_bytes() for path in before} == before
    assert fifo.exists() and not fifo.is_file()
    assert [path for _, path, _ in stub_api.requests] == ["/api/v1/auth/token"]  # nothing asked


def test_an_out_of_the_kind_a_command_writes_or_an_empty_one_is_replaced(
    cli, stub_api, package, agent_dir, tmp_path
):
    """Re-signing to PACKAGE.sig, fetching again, packing again: what users already do."""
    cli.ok("keygen")
    cli.ok("sign", str(package))
    cli.ok("sign", str(package))
    cli.ok("keygen", "--out", str(tmp_path / "new.key"))
    cli.ok("sign", str(package), "--key", str(tmp_path / "new.key"))
    new_key = json.loads((tmp_path / "new.key").read_text())["public_key"]
    cli.ok("verify", str(package), "--public-key", new_key)

    stub_api.answer("/.well-known/edgeplug/keys.json", (200, {"keys": []}))
    certificate = {"certificate": {}, "key_id": "k", "signature": "s"}
    stub_api.answer("/api/v1/agents/1/versions/1.0.0/certificate", (200, certificate))
    cli.ok("login", "--server", stub_api.url, "--email", "dev@acme.example")
    empty = tmp_path / "empty"
    for command in (
        ("fetch-keyset", "--out", str(tmp_path / "keys.json")),
        ("fetch-keyset", "--out", str(tmp_path / "keys.json")),
        ("fetch-certificate", "1", "1.0.0", "--out", str(tmp_path / "cert.json")),
        ("fetch-certificate", "1", "1.0.0", "--out", str(tmp_path / "cert.json")),
        ("pack", str(agent_dir), "--out", str(package)),
        ("pack", str(agent_dir), "--out", str(empty)),
    ):
        empty.write_bytes(b"")  # a `mktemp` of a script
        cli.ok(*command)
    assert json.loads((tmp_path / "cert.json").read_text()) == certificate
    assert empty.read_bytes().startswith(b"PK")
