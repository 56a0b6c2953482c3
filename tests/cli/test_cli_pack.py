"""`edgeplug pack`: the shared validator first, then a deterministic package and its RECORD."""

from __future__ import annotations

import json

import pytest

from marketplace.packageformat import inspect_package
from tests.cli.conftest import write_agent
from tests.packageformat.builders import make_manifest, make_package

pytestmark = pytest.mark.slow


def test_pack_writes_the_package_and_record(cli, agent_dir, tmp_path):
    out = cli.ok("pack", str(agent_dir))
    package = tmp_path / "pump-anomaly-1.0.0.epk"
    data = package.read_bytes()
    checked = inspect_package(data)
    assert (checked.name, checked.version) == ("pump-anomaly", "1.0.0")
    assert (agent_dir / "RECORD").read_bytes() == checked.read("RECORD")
    assert f"into {package}" in out
    assert f"digest: sha256:{checked.sha256}" in out


def test_pack_is_deterministic(cli, agent_dir, tmp_path):
    cli.ok("pack", str(agent_dir), "--out", str(tmp_path / "first.epk"))
    cli.ok("pack", str(agent_dir), "--out", str(tmp_path / "second.epk"))
    first = (tmp_path / "first.epk").read_bytes()
    assert first == (tmp_path / "second.epk").read_bytes()
    assert first == make_package(make_manifest())


def test_pack_refuses_a_manifest_that_breaks_the_schema(cli, tmp_path):
    directory = write_agent(tmp_path / "broken", make_manifest(license=None))
    cli.refused(
        "pack", str(directory), "--out", str(tmp_path / "broken.epk"), code="schema_violation"
    )
    assert not (tmp_path / "broken.epk").exists()
    assert not (directory / "RECORD").exists()


def test_pack_refuses_a_bad_version_with_its_code(cli, tmp_path):
    directory = write_agent(tmp_path / "broken", make_manifest(version="1.0"))
    cli.refused("pack", str(directory), code="invalid_version")


def test_pack_refuses_invalid_json(cli, tmp_path):
    directory = write_agent(tmp_path / "broken", make_manifest())
    (directory / "manifest.json").write_text("{not json")
    cli.refused("pack", str(directory), code="invalid_json")


def test_pack_refuses_a_directory_without_manifest(cli, tmp_path):
    directory = tmp_path / "empty"
    directory.mkdir()
    (directory / "model.tflite").write_bytes(b"model")
    cli.refused("pack", str(directory), code="missing_manifest")


def test_pack_refuses_a_missing_model_file(cli, tmp_path):
    directory = write_agent(tmp_path / "broken", make_manifest())
    (directory / "model.tflite").unlink()
    cli.refused("pack", str(directory), code="referenced_file_missing")
    assert json.loads((directory / "manifest.json").read_text())["name"] == "pump-anomaly"


def _unreadable_file(agent_dir):
    (agent_dir / "notes.txt").write_text("mine")
    return agent_dir / "notes.txt"


def _unreadable_directory(agent_dir):
    (agent_dir / "extra").mkdir()
    (agent_dir / "extra" / "labels.txt").write_text("a\nb\n")
    return agent_dir / "extra"


@pytest.mark.parametrize("unreadable", [_unreadable_file, _unreadable_directory])
def test_what_pack_cannot_read_is_read_failed_and_nothing_is_written(
    cli, agent_dir, tmp_path, unreadable
):
    """A file was a PermissionError traceback; a directory os.walk passed over, the package
    going without it, said nowhere."""
    path = unreadable(agent_dir)
    mode = path.stat().st_mode
    path.chmod(0)
    out = tmp_path / "pump.epk"
    try:
        result = cli("pack", str(agent_dir), "--out", str(out), file_modes_bind=True)
    finally:
        path.chmod(mode)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert result.stderr.startswith("error: read_failed: could not read "), result.stderr
    assert path.name in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()
    assert not (agent_dir / "RECORD").exists()


def test_a_record_that_cannot_be_written_leaves_no_package_written(cli, agent_dir, tmp_path):
    """A read-only DIR: RECORD's rewrite failed (write_failed, exit 1) after the package had
    been written, where docs/cli.md promises that a failure writes nothing."""
    out = tmp_path / "pump.epk"
    cli.ok("pack", str(agent_dir), "--out", str(out))
    before = out.read_bytes()
    (agent_dir / "notes.txt").write_text("new")
    agent_dir.chmod(0o555)
    try:
        result = cli("pack", str(agent_dir), "--out", str(out), file_modes_bind=True)
        fresh = cli(
            "pack", str(agent_dir), "--out", str(tmp_path / "new.epk"), file_modes_bind=True
        )
    finally:
        agent_dir.chmod(0o755)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert result.stderr.startswith("error: write_failed: could not write "), result.stderr
    assert out.read_bytes() == before  # the previous package, as it was
    assert fresh.returncode == 1, (fresh.stdout, fresh.stderr)
    assert not (tmp_path / "new.epk").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp
