"""The CLI fails as it promises (``error: <code>: …`` and exit 1, or a usage error and exit 2)
where it used to end in a Python traceback, and never leaves a half-written file: found by
a walk of every command's unhappy paths."""

import json
import os

import pytest

from edgeplug.certificates import CertificateInvalid, verify_certificate
from marketplace.cli.config import SESSION_LOCK_FILE
from tests.cli.conftest import write_agent
from tests.packageformat.builders import make_manifest, make_package


def test_a_pack_that_cannot_be_written_leaves_the_previous_package_whole(cli, agent_dir, tmp_path):
    out = tmp_path / "pump.epk"
    cli.ok("pack", str(agent_dir), "--out", str(out))
    before = out.read_bytes()
    (agent_dir / "notes.bin").write_bytes(os.urandom(len(before) + 200_000))

    failed = cli("pack", str(agent_dir), "--out", str(out), file_size_limit=len(before) + 1000)

    assert failed.returncode == 1, failed.stderr
    assert failed.stderr.startswith("error: write_failed: could not write"), failed.stderr
    assert "Traceback" not in failed.stderr
    assert out.read_bytes() == before  # not truncated: the new bytes never replaced it
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp


def test_an_output_in_a_missing_directory_is_wrong_usage_before_any_work(cli, agent_dir, tmp_path):
    for args in (
        ("pack", str(agent_dir), "--out", str(tmp_path / "nodir" / "x.epk")),
        ("fetch-keyset", "--server", "http://127.0.0.1:9", "--out", "nodir/keys.json"),
        # A private key most of all: a typo made the directory (and scattered the key) before.
        ("keygen", "--out", str(tmp_path / "nodir" / "key.json")),
    ):
        result = cli(*args)
        assert result.returncode == 2, result.stderr
        assert "does not exist" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "nodir").exists()


def test_an_empty_output_name_is_wrong_usage_before_any_work(cli, agent_dir):
    """An unset "$OUT": it was write_failed (exit 1) once the package had been made."""
    result = cli("pack", str(agent_dir), "--out", "")
    assert result.returncode == 2, result.stderr
    assert "is empty: give the file to write" in result.stderr, result.stderr


def test_a_package_written_into_its_own_directory_is_wrong_usage(cli, agent_dir):
    """It would be packed into the next package of the directory, silently."""
    result = cli("pack", str(agent_dir), "--out", str(agent_dir / "a.epk"))
    assert result.returncode == 2 and "outside" in result.stderr, result.stderr
    assert not (agent_dir / "a.epk").exists()


def test_a_signing_key_left_in_the_agent_directory_is_never_packed(cli, agent_dir, tmp_path):
    """Packed, every buyer of the version would have downloaded the vendor's private key."""
    cli.ok("keygen", "--out", str(agent_dir / "signing-key.json"))
    out = tmp_path / "agent.epk"
    refused = cli.refused("pack", str(agent_dir), "--out", str(out), code="private_key_in_package")
    assert "signing-key.json" in refused.stderr and not out.exists()


def test_key_ids_and_versions_are_one_path_segment(cli, stub_api):
    """``revoke-key ../keys`` asks to revoke the key named so, not ``POST /vendor/keys/revoke``."""
    cli.ok("login", "--server", stub_api.url, "--email", "dev@acme.example")
    cli.refused("revoke-key", "../keys", code="not_found")
    cli.refused("status", "1", "--version", "1.0?x=1", code="not_found")
    paths = [path for _, path, _ in stub_api.requests]
    assert "/api/v1/vendor/keys/..%2Fkeys/revoke" in paths
    assert "/api/v1/agents/1/versions/1.0%3Fx%3D1" in paths


def test_a_file_name_that_is_not_utf8_is_refused_with_its_code(cli, tmp_path):
    directory = write_agent(tmp_path / "agent", make_manifest())
    (directory / os.fsdecode(b"notes-\xff.md")).write_bytes(b"x")

    cli.refused("pack", str(directory), code="non_utf8_name")
    assert not list(tmp_path.glob("*.epk"))


def test_a_server_error_while_refreshing_is_said_as_it_is_not_as_an_expired_sign_in(cli, stub_api):
    cli.ok("login", "--server", stub_api.url, "--email", "dev@acme.example")
    stub_api.answer("/api/v1/agents/1", (401, {"code": "token_not_valid", "detail": "expired"}))
    stub_api.answer(
        "/api/v1/auth/token/refresh", (503, {"code": "service_unavailable", "detail": "later"})
    )
    cli.refused("status", "1", code="service_unavailable")
    stub_api.answer("/api/v1/auth/token/refresh", (401, {"code": "token_not_valid", "detail": "x"}))
    cli.refused("status", "1", code="session_expired")


def test_an_answer_that_is_not_the_api_s_is_unexpected_answer(cli, stub_api):
    login = ("login", "--server", stub_api.url, "--email", "dev@acme.example")
    stub_api.answer("/api/v1/auth/token", (200, b"<html><body>Sign in to the Wi-Fi</body></html>"))
    result = cli.refused(*login, code="unexpected_answer")
    assert "not JSON" in result.stderr
    stub_api.answer("/api/v1/auth/token", (200, {"token": "not ours"}))
    result = cli.refused(*login, code="unexpected_answer")
    assert "without access, refresh" in result.stderr
    assert not (cli.config_dir / "config.json").exists()


def test_a_downloaded_key_set_or_certificate_that_is_not_one_is_not_written(
    cli, stub_api, tmp_path
):
    cli.ok("login", "--server", stub_api.url, "--email", "dev@acme.example")
    stub_api.answer("/.well-known/edgeplug/keys.json", (200, b"<html>Welcome</html>"))
    cli.refused("fetch-keyset", "--out", str(tmp_path / "keys.json"), code="unexpected_answer")
    path = "/api/v1/agents/1/versions/1.0.0/certificate"
    stub_api.answer(path, (200, {"id": 1}))
    fetch = ("fetch-certificate", "1", "1.0.0", "--out", str(tmp_path / "cert.json"))
    result = cli.refused(*fetch, code="unexpected_answer")
    assert "without certificate, key_id, signature" in result.stderr
    assert not list(tmp_path.glob("*.json"))


def test_fetch_keyset_without_a_server_or_a_session_is_not_logged_in(cli, tmp_path):
    """As docs/cli.md's table says of every command that needs a server it was not given."""
    result = cli.refused("fetch-keyset", "--out", str(tmp_path / "keys.json"), code="not_logged_in")
    assert "give --server" in result.stderr


def test_interval_without_watch_is_wrong_usage(cli):
    result = cli("status", "--run", "1", "--interval", "5")
    assert result.returncode == 2 and "--interval applies with --watch" in result.stderr


@pytest.mark.parametrize("interval", ["nan", "inf", "1e30", "3601"])
def test_an_interval_that_is_no_number_of_seconds_is_wrong_usage(cli, interval):
    """``nan`` passed click's FloatRange and ``1e30`` had no bound: both ended time.sleep in
    a traceback after the first poll."""
    result = cli("status", "--run", "1", "--watch", "--interval", interval)
    assert result.returncode == 2 and "Invalid value for '--interval'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("typed", ["\u0663", "1_0", " 3"])
def test_an_id_is_ascii_digits_as_the_api_s_paths_take_it(cli, stub_api, typed):
    """click's int read ``٣`` as 3 and asked the server for agent 3."""
    cli.ok("login", "--server", stub_api.url, "--email", "dev@acme.example")
    for args in (["status", typed], ["status", "--run", typed], ["fetch-certificate", typed, "1"]):
        result = cli(*args)
        assert result.returncode == 2 and "is not a whole number" in result.stderr, args
    assert [path for _, path, _ in stub_api.requests] == ["/api/v1/auth/token"]


def test_a_token_a_header_cannot_carry_is_refused_at_login_and_in_the_session_file(cli, stub_api):
    """A token outside ASCII (a server's answer, a hand-edited file) ended every later
    command in UnicodeEncodeError."""
    tokens = {"access": "\u2603", "refresh": "r", "tenant": "acme", "role": "developer"}
    stub_api.answer("/api/v1/auth/token", (200, tokens))
    cli.refused(
        "login", "--server", stub_api.url, "--email", "dev@acme.example", code="unexpected_answer"
    )
    assert not (cli.config_dir / "config.json").exists()

    stub_api.answer("/api/v1/auth/token", (200, {**tokens, "access": "a.b.c"}))
    cli.ok("login", "--server", stub_api.url, "--email", "dev@acme.example")
    path = cli.config_dir / "config.json"
    path.write_text(json.dumps({**cli.session(), "access": "\u2603"}))
    result = cli.refused("status", "1", code="invalid_config")
    assert "access is not a token" in result.stderr


def test_a_certificate_without_its_fields_names_the_missing_one():
    with pytest.raises(CertificateInvalid, match="the document has no 'certificate' field"):
        verify_certificate({}, {"keys": []})


def test_a_session_file_of_the_wrong_shape_is_invalid_config_and_logout_removes_it(cli, stub_api):
    cli.ok("login", "--server", stub_api.url, "--email", "dev@acme.example")
    path = cli.config_dir / "config.json"
    path.write_text(json.dumps({**cli.session(), "server": 123}))

    cli.refused("status", "1", code="invalid_config")
    assert "removed the unreadable session file" in cli.ok("logout")
    assert not path.exists()


def test_logout_with_the_server_down_forgets_the_session_and_says_the_token_lives_on(cli, stub_api):
    cli.ok("login", "--server", stub_api.url, "--email", "dev@acme.example")
    path = cli.config_dir / "config.json"
    path.write_text(json.dumps({**cli.session(), "server": "http://127.0.0.1:9"}))

    result = cli.refused("logout", code="server_unreachable")
    assert "signed out on this machine" in result.stderr
    assert "stays valid until it expires" in result.stderr
    assert not path.exists()
    assert cli.ok("logout") == "not signed in\n"


def test_logout_refused_by_a_failing_server_says_the_token_lives_on(cli, stub_api):
    cli.ok("login", "--server", stub_api.url, "--email", "dev@acme.example")
    stub_api.answer("/api/v1/auth/logout", (503, {"code": "service_unavailable", "detail": "x"}))
    result = cli.refused("logout", code="service_unavailable")
    assert "stays valid until it expires" in result.stderr
    assert not (cli.config_dir / "config.json").exists()


def test_logout_of_an_expired_refresh_token_says_the_session_had_already_ended(cli, stub_api):
    cli.ok("login", "--server", stub_api.url, "--email", "dev@acme.example")
    expired = {"code": "token_not_valid", "detail": "Token is expired"}
    stub_api.answer("/api/v1/auth/logout", (401, expired))
    assert "the session had already ended" in cli.ok("logout")
    assert not (cli.config_dir / "config.json").exists()


def test_a_json_answer_without_what_a_command_reads_is_unexpected_answer(cli, stub_api, tmp_path):
    """JSON, but not the API's answer (another service at that address): each command that
    reads fields of it says so, where status, revoke-key and the run's status crashed with a
    KeyError traceback."""
    cli.ok("login", "--server", stub_api.url, "--email", "dev@acme.example")
    cli.ok("keygen")
    not_ours = (200, {"status": "ok"})
    for path in ("/api/v1/agents/1", "/api/v1/vendor/keys/k1/revoke", "/api/v1/vendor/keys"):
        stub_api.answer(path, not_ours)
    stub_api.answer("/api/v1/certification/7", (200, {"id": 7}))
    stub_api.answer("/api/v1/auth/me", (200, {"email": "dev@acme.example"}))
    stub_api.answer("/api/v1/agents/upload", (201, {"status": "ok"}))
    (tmp_path / "a.epk").write_bytes(make_package())
    for command, missing in (
        (("upload", str(tmp_path / "a.epk"), "--key", cli.key_file), "without agent, version"),
        (("register-key",), "without key_id"),
        (("status", "1"), "without id, name, vendor"),
        (("revoke-key", "k1"), "without key_id, revoked_at"),
        (("status", "--run", "7"), "without status"),
    ):
        result = cli.refused(*command, code="unexpected_answer")
        assert missing in result.stderr and "Traceback" not in result.stderr


def test_a_key_or_session_that_cannot_be_written_is_write_failed(cli, stub_api):
    """keygen and login write the private key and the session through one helper, which let a
    full disk (here: a file size limit of 20 bytes) end in an OSError traceback."""
    login = ("login", "--server", stub_api.url, "--email", "dev@acme.example")
    for command in (("keygen",), login):
        failed = cli(*command, file_size_limit=20)
        assert failed.returncode == 1, failed.stderr
        assert failed.stderr.startswith("error: write_failed: could not write"), failed.stderr
        assert "Traceback" not in failed.stderr
    # Nothing half-written; the empty lock file that login writes the session under stays.
    written = [p for p in cli.config_dir.rglob("*") if p.is_file()]
    assert [p.name for p in written] == [SESSION_LOCK_FILE]


def test_a_config_directory_that_is_a_file_is_write_failed(cli):
    cli.config_dir.parent.mkdir(parents=True, exist_ok=True)
    cli.config_dir.write_text("not a directory")
    failed = cli("keygen")
    assert failed.returncode == 1 and "Traceback" not in failed.stderr, failed.stderr
    assert failed.stderr.startswith("error: write_failed: could not write"), failed.stderr


def test_a_server_url_that_is_no_url_is_invalid_server(cli, tmp_path):
    """An unclosed IPv6 bracket ended login and fetch-keyset in a ValueError traceback."""
    for command in (
        ("login", "--server", "http://[::1", "--email", "dev@acme.example"),
        ("fetch-keyset", "--server", "http://[::1", "--out", str(tmp_path / "keys.json")),
    ):
        result = cli.refused(*command, code="invalid_server")
        assert "Traceback" not in result.stderr


def test_json_nested_too_deeply_to_read_is_refused_with_each_files_code(cli, stub_api, tmp_path):
    """A RecursionError traceback before, for a certificate, a key set, a key or a session."""
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000)
    package = tmp_path / "a.epk"
    package.write_bytes(make_package())
    cli.ok("keygen")
    keyset = tmp_path / "keys.json"
    keyset.write_text(json.dumps({"keys": []}))
    for command, code in (
        (("verify", str(package), "--certificate", str(deep), "--keyset", str(keyset)), None),
        (("sign", str(package), "--key", str(deep)), "invalid_key_file"),
    ):
        result = cli(*command)
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert code is None or result.stderr.startswith(f"error: {code}:"), result.stderr
    cli.ok("login", "--server", stub_api.url, "--email", "dev@acme.example")
    (cli.config_dir / "config.json").write_text("[" * 100_000)
    cli.refused("status", "1", code="invalid_config")
    assert "removed the unreadable session file" in cli.ok("logout")


def test_logout_with_a_directory_for_a_session_file_says_so(cli):
    """A directory where the session file goes: logout ended in IsADirectoryError."""
    (cli.config_dir / "config.json").mkdir(parents=True)
    result = cli.refused("logout", code="invalid_config")
    assert "is not a session file and cannot be removed" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("empty", ["", " "])
@pytest.mark.parametrize("args", [("status", "1"), ("status", "--run", "7")])
def test_an_empty_version_is_wrong_usage_not_no_version(cli, stub_api, args, empty):
    """``--version "$VERSION"`` with the variable unset showed the whole agent (or the run)
    as if no --version had been given, as verify's empty --public-key once skipped the
    signature."""
    cli.ok("login", "--server", stub_api.url, "--email", "dev@acme.example")
    result = cli(*args, "--version", empty)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "--version is empty" in result.stderr
    assert [path for _, path, _ in stub_api.requests] == ["/api/v1/auth/token"]


def test_a_server_url_with_a_password_is_refused_and_the_password_never_shown(
    cli, stub_api, tmp_path
):
    """``http://user:secret@host`` was printed by login ("signed in to …"), put in every error
    message and stored in config.json."""
    with_password = stub_api.url.replace("http://", "http://proxyuser:hunter2secret@")
    login = cli.refused(
        "login", "--server", with_password, "--email", "dev@acme.example", code="invalid_server"
    )
    assert "holds a user name or password" in login.stderr
    for command in (
        ("login", "--server", with_password, "--email", "dev@acme.example"),
        ("fetch-keyset", "--server", with_password, "--out", str(tmp_path / "keys.json")),
        ("fetch-keyset", "--server", "ftp://u:hunter2secret@host", "--out", "k.json"),
        ("fetch-keyset", "--server", "http://u:hunter2secret@[::1", "--out", "k.json"),
        # A password holding what ends a URL's user information early, or no "//" at all.
        ("fetch-keyset", "--server", "https://u:hunter2/secret@host", "--out", "k.json"),
        ("fetch-keyset", "--server", "https://u:hunter2#secret@host", "--out", "k.json"),
        ("fetch-keyset", "--server", "u:hunter2secret@host", "--out", "k.json"),
        ("fetch-keyset", "--server", "http:u:hunter2secret@host", "--out", "k.json"),
    ):
        result = cli.refused(*command, code="invalid_server")
        said = result.stdout + result.stderr
        assert "hunter2" not in said and "secret@" not in said, result.stderr
    assert stub_api.requests == []
    assert not (cli.config_dir / "config.json").exists()
    assert not (tmp_path / "keys.json").exists()


def test_a_stored_server_url_with_a_password_is_refused_without_showing_it(cli, stub_api):
    """A session saved before such URLs were refused: refused when used, logout forgets it."""
    cli.ok("login", "--server", stub_api.url, "--email", "dev@acme.example")
    path = cli.config_dir / "config.json"
    with_password = stub_api.url.replace("http://", "http://u:hunter2secret@")
    path.write_text(json.dumps({**cli.session(), "server": with_password}))

    for command in (("status", "1"), ("logout",)):
        result = cli.refused(*command, code="invalid_server")
        assert "hunter2secret" not in result.stdout + result.stderr, result.stderr
    assert not path.exists()


@pytest.mark.parametrize(
    "answer",
    [
        {"agent": None, "version": None, "created": True},
        {"agent": {"id": 1, "name": "pump"}, "version": "1.0.0", "created": True},
        {
            "agent": {"id": 1, "name": "pump"},
            "version": {"version": "1.0.0", "digest": "ab"},
            "created": True,
            "certification_error": "run_in_progress",
        },
    ],
    ids=["null_agent", "version_not_an_object", "refusal_not_an_object"],
)
def test_an_upload_answer_of_the_wrong_shape_is_unexpected_answer(cli, stub_api, tmp_path, answer):
    """The fields asked for, but not the objects the API gives: a TypeError traceback."""
    cli.ok("login", "--server", stub_api.url, "--email", "dev@acme.example")
    cli.ok("keygen")
    stub_api.answer("/api/v1/auth/me", (200, {"email": "dev@acme.example"}))
    stub_api.answer("/api/v1/agents/upload", (201, answer))
    (tmp_path / "a.epk").write_bytes(make_package())
    result = cli.refused(
        "upload", str(tmp_path / "a.epk"), "--key", cli.key_file, code="unexpected_answer"
    )
    assert "/api/v1/agents/upload answered with JSON not of the API's shape" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == "", "no half of the answer is printed as if it were the API's"


@pytest.mark.parametrize(
    ("args", "path", "answer"),
    [
        (
            ("status", "1"),
            "/api/v1/agents/1",
            {"id": 1, "name": "p", "vendor": "v", "versions": [None]},
        ),
        (
            ("status", "1"),
            "/api/v1/agents/1",
            {"id": 1, "name": "p", "vendor": "v", "versions": ["x"]},
        ),
        (("status", "1", "--version", "1.0.0"), "/api/v1/agents/1/versions/1.0.0", ["1.0.0"]),
        (
            ("status", "--run", "7"),
            "/api/v1/certification/7",
            {"status": "running", "stage_states": [None]},
        ),
        (
            ("status", "--run", "7"),
            "/api/v1/certification/7",
            {"status": "running", "stage_states": [{"stage": "validation"}]},
        ),
        (
            ("status", "--run", "7"),
            "/api/v1/certification/7",
            {"status": "running", "results": "x"},
        ),
        (("status", "--run", "7", "--watch"), "/api/v1/certification/7", {"status": ["passed"]}),
    ],
    ids=[
        "null_version",
        "version_text",
        "version_list",
        "null_stage",
        "stage_without_state",
        "results_text",
        "status_list",
    ],
)
def test_an_agent_or_run_answer_of_the_wrong_shape_is_unexpected_answer(
    cli, stub_api, args, path, answer
):
    """render's agent, version and run views read nested objects the answer did not hold:
    TypeError, KeyError and AttributeError tracebacks."""
    cli.ok("login", "--server", stub_api.url, "--email", "dev@acme.example")
    stub_api.answer(path, (200, answer))
    result = cli.refused(*args, code="unexpected_answer")
    assert f"{path} answered with JSON not of the API's shape" in result.stderr
    assert "Traceback" not in result.stderr
