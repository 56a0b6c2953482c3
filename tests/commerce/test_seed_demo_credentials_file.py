"""seed_demo's var/demo-credentials.json (the demo passwords, the staff's TOTP URLs) is readable
by its owner only at every moment it holds them, and a disk too full to write it loses no
password: the sign-ins are printed, the command says the file was not written, no traceback."""

import io
import json
import os
import resource
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import global_settings
from django.core.management import call_command

from edgeplug.accounts.models import User
from tests.gunicorn_server import database_url_for_test_db

pytestmark = [pytest.mark.django_db(transaction=True)]

CREDENTIALS = "demo-credentials.json"


def _files_with_passwords_readable_by_others(directory: Path) -> list[str]:
    found = []
    for path in directory.iterdir():
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
            content = path.read_text() if path.is_file() else ""
        except (FileNotFoundError, UnicodeDecodeError):  # gone meanwhile, or not ours
            continue
        if '"password"' in content and mode & 0o077:
            found.append(f"{path.name} ({oct(mode)})")
    return found


@pytest.fixture
def watched_var_dir(settings, tmp_path):
    """VAR_DIR, looked at on every audited operation (each open, chmod, rename, link …) while
    the test runs: what is on disk between any two steps of writing the file."""
    settings.VAR_DIR = tmp_path
    seen: list[str] = []
    watching = [True]

    def hook(event: str, args) -> None:
        if watching[0] and event.startswith(("open", "os.")):
            watching[0] = False  # the hook's own stat and open are not watched
            try:
                seen.extend(_files_with_passwords_readable_by_others(tmp_path))
            finally:
                watching[0] = True

    sys.addaudithook(hook)  # cannot be removed: switched off below
    yield tmp_path, seen
    watching[0] = False


def test_demo_passwords_are_never_on_disk_readable_by_other_users(watched_var_dir):
    var_dir, seen = watched_var_dir
    old = os.umask(0o022)  # the usual umask of an operator's shell
    try:
        call_command("seed_demo", part="users", stdout=io.StringIO())
    finally:
        os.umask(old)

    assert seen == []
    assert stat.S_IMODE((var_dir / CREDENTIALS).stat().st_mode) == 0o600
    assert len(json.loads((var_dir / CREDENTIALS).read_text())) == 4
    assert sorted(p.name for p in var_dir.iterdir()) == [CREDENTIALS]  # no temporary left


def test_a_credentials_file_left_readable_by_an_older_run_is_replaced_by_a_private_one(
    settings, tmp_path
):
    settings.VAR_DIR = tmp_path
    older = tmp_path / CREDENTIALS
    older.write_text("[]")
    older.chmod(0o644)

    call_command("seed_demo", part="users", stdout=io.StringIO())

    assert stat.S_IMODE(older.stat().st_mode) == 0o600
    assert len(json.loads(older.read_text())) == 4


def _file_size_limit(limit: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_seed_demo_on_a_full_disk_prints_the_sign_ins_and_says_the_file_was_not_written(
    settings, tmp_path
):
    # The command's process hashes as a deployment does, not with the tests' fast hasher.
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    (tmp_path / "secret_key").write_text("x" * 60)  # as a deployment's var/ already holds
    older = tmp_path / CREDENTIALS
    older.write_text("[]")
    # A file size limit (`ulimit -f`) as the CLI tests use: writing past it fails, EFBIG.
    result = subprocess.run(
        [sys.executable, "manage.py", "seed_demo", "--part", "users"],
        cwd=settings.BASE_DIR,
        env={
            **os.environ,
            "DATABASE_URL": database_url_for_test_db(),
            "EDGEPLUG_VAR_DIR": str(tmp_path),
            "PYTHONDONTWRITEBYTECODE": "1",
        },
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=_file_size_limit(512),
    )

    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert f"CommandError: The sign-ins above were not written to {older}" in result.stderr
    printed = [line.split() for line in result.stdout.splitlines() if "@demo." in line]
    assert len(printed) == 4
    for email, password, *_ in printed:  # the passwords now in force are the ones printed
        assert User.objects.with_email(email).get().check_password(password), email
    # The older file is left whole (its passwords out of date, as said), not cut short.
    assert older.read_text() == "[]"
    assert [p.name for p in tmp_path.glob(f".{CREDENTIALS}*")] == []  # no temporary left
