"""`edgeplug upload --certify --level L` asks for certification and points at the run (the run
the version kept, and why, when the same bytes come again), or fails with the code of why
certification did not start (the upload itself succeeded)."""

from __future__ import annotations

import pytest

from tests.packageformat.builders import make_package

pytestmark = pytest.mark.slow

UPLOADED = {
    "agent": {"id": 3, "name": "pump-anomaly"},
    "version": {"version": "1.0.0", "digest": "ab" * 32},
    "created": True,
    "certification_run": 11,
}


@pytest.fixture
def uploader(cli, stub_api, tmp_path):
    stub_api.answer("/api/v1/auth/me", (200, {"email": "dev@acme.example"}))
    stub_api.answer("/api/v1/agents/upload", (201, UPLOADED))
    cli.ok("login", "--server", stub_api.url, "--email", "dev@acme.example")
    cli.ok("keygen")
    (tmp_path / "agent.epk").write_bytes(make_package())
    return cli


def test_certify_sends_the_level_and_prints_the_run(uploader, stub_api, tmp_path):
    key = uploader.key_file
    out = uploader.ok(
        "upload", str(tmp_path / "agent.epk"), "--key", key, "--certify", "--level", "hardware"
    )
    assert "certification run: 11 (edgeplug status --run 11 --watch)" in out
    body = stub_api.bodies["/api/v1/agents/upload"]
    assert b'name="certify"\r\n\r\ntrue\r\n' in body
    assert b'name="level"\r\n\r\nhardware\r\n' in body
    assert make_package() in body


@pytest.mark.parametrize(
    ("code", "run", "detail"),
    [
        (
            "version_yanked",
            None,
            "acme-robotics/pump-anomaly@1.0.0 is yanked and cannot be certified.",
        ),
        (
            "broker_unavailable",
            12,
            "Run 12 could not be queued (the task queue did not accept the run: "
            "ConnectionRefusedError); submit it again shortly.",
        ),
    ],
)
def test_a_submission_that_did_not_start_fails_the_command_though_the_upload_succeeded(
    uploader, stub_api, tmp_path, code, run, detail
):
    refused = {
        **UPLOADED,
        "created": False,
        "certification_run": run,
        "certification_error": {"code": code, "detail": detail},
    }
    stub_api.answer("/api/v1/agents/upload", (200, refused))
    result = uploader.refused(
        "upload", str(tmp_path / "agent.epk"), "--key", uploader.key_file, "--certify", code=code
    )
    assert "created: no (these bytes were uploaded before)" in result.stdout
    assert (
        f"error: {code}: certification not started (the upload itself succeeded): {detail}"
    ) in result.stderr
    assert "certification run:" not in result.stdout


def test_the_same_upload_again_names_the_run_the_version_kept_and_succeeds(
    uploader, stub_api, tmp_path
):
    """A re-run CI job sends the same bytes with --certify: the server keeps the version's
    certification (approved here) and says so; the command says it too, and succeeds."""
    detail = (
        "acme-robotics/pump-anomaly@1.0.0 is certified by run 11 and approved; "
        "certification was not started again."
    )
    kept = {
        **UPLOADED,
        "created": False,
        "certification_error": None,
        "certification_not_restarted": {"code": "already_certified", "detail": detail},
    }
    stub_api.answer("/api/v1/agents/upload", (200, kept))
    out = uploader.ok(
        "upload", str(tmp_path / "agent.epk"), "--key", uploader.key_file, "--certify"
    )
    assert "created: no (these bytes were uploaded before)" in out
    assert "certification run: 11 (edgeplug status --run 11 --watch)" in out
    assert f"note: already_certified: {detail}" in out


def test_level_without_certify_is_wrong_usage(uploader, tmp_path):
    key = uploader.key_file
    result = uploader("upload", str(tmp_path / "agent.epk"), "--key", key, "--level", "basic")
    assert result.returncode == 2
    assert "--level applies with --certify" in result.stderr


def test_an_unknown_level_is_wrong_usage(uploader, tmp_path):
    result = uploader("upload", str(tmp_path / "agent.epk"), "--certify", "--level", "gold")
    assert result.returncode == 2
