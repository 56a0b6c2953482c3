"""Secret keys that start with "$" (or hold any other character) start the service."""

import json
import re
import threading
import time
from pathlib import Path

from edgeplug.secret_files import generate_secret, read_or_create
from tests.processes import python_with_settings

_SHOW = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'secret': s.SECRET_KEY, 'jwt': s.SIMPLE_JWT['SIGNING_KEY']}))"
)


def _settings_in_a_fresh_process(tmp_path: Path, **env) -> dict:
    result = python_with_settings(tmp_path, _SHOW, **env)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_secret_key_from_the_environment_starting_with_dollar_is_used_as_is(tmp_path):
    key = "$HOME-" + generate_secret()
    loaded = _settings_in_a_fresh_process(tmp_path, SECRET_KEY=key)
    assert loaded == {"secret": key, "jwt": key}


def test_jwt_signing_key_starting_with_dollar_is_used_as_is(tmp_path):
    loaded = _settings_in_a_fresh_process(
        tmp_path, SECRET_KEY="a" * 60, JWT_SIGNING_KEY="$SECRET_KEY"
    )
    assert loaded == {"secret": "a" * 60, "jwt": "$SECRET_KEY"}


def test_an_embedded_key_file_starting_with_dollar_still_starts(tmp_path):
    (tmp_path / "secret_key").write_text("$" + "k" * 60)
    assert _settings_in_a_fresh_process(tmp_path)["jwt"] == "$" + "k" * 60


def test_the_generated_embedded_key_uses_a_safe_alphabet(tmp_path):
    first = _settings_in_a_fresh_process(tmp_path)["secret"]
    assert (tmp_path / "secret_key").read_text() == first
    keys = [first] + [generate_secret() for _ in range(500)]
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{80,}", key) for key in keys)


def test_a_process_starting_while_another_writes_the_secret_reads_it_whole(tmp_path):
    """Two processes start at once: the one that comes second while the first is still
    writing reads the same, whole secret, never an empty file (a gunicorn worker once booted
    with an empty SECRET_KEY)."""
    path = tmp_path / "secret_key"
    writing = threading.Event()

    def slow_secret() -> str:
        writing.set()
        time.sleep(0.3)
        return "first"

    read: dict[str, str] = {}
    first = threading.Thread(target=lambda: read.update(first=read_or_create(path, slow_secret)))
    first.start()
    writing.wait(5)
    read["second"] = read_or_create(path, lambda: "second")
    first.join()

    assert read["first"] == read["second"] == path.read_text() != ""
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no temporary left


def test_the_embedded_database_is_readable_by_its_owner_only(tmp_path):
    """It holds password hashes, live refresh tokens and TOTP keys, beside the 0600 secret
    files (it was created world-readable, 0644 under the usual umask, and its WAL beside it)."""
    code = (
        "import django; django.setup(); from django.db import connection; "
        "connection.ensure_connection(); connection.cursor().execute('CREATE TABLE t (x)')"
    )
    result = python_with_settings(tmp_path, code)
    assert result.returncode == 0, result.stderr[-3000:]
    created = sorted(tmp_path.glob("edgeplug.sqlite3*"))
    assert created and {oct(path.stat().st_mode & 0o777) for path in created} == {"0o600"}


def test_an_embedded_database_made_before_is_made_private_too(tmp_path):
    database = tmp_path / "edgeplug.sqlite3"
    database.touch(mode=0o644)
    database.chmod(0o644)
    result = python_with_settings(tmp_path, "import django; django.setup()")
    assert result.returncode == 0, result.stderr[-3000:]
    assert oct(database.stat().st_mode & 0o777) == "0o600"
