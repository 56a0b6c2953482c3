"""Secrets the embedded default generates into var/ (never committed, never logged)."""

import os
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path


def generate_secret() -> str:
    """A 64-byte random secret in the URL-safe alphabet (A-Z a-z 0-9 - _).

    Not Django's get_random_secret_key(): its alphabet has ``$`` and other shell and
    django-environ metacharacters, and a key starting with ``$`` would be read as a
    reference to another variable wherever it is passed through an environment.
    """
    return secrets.token_urlsafe(64)


def owner_only(path: Path) -> None:
    """Make ``path`` readable and writable by its owner only, creating it empty if it does not
    exist (an empty file is an empty SQLite database): the embedded database holds password
    hashes, live refresh tokens and TOTP keys, and SQLite gives its journal and WAL files the
    database file's mode; a secret an earlier version wrote at the umask's mode is tightened
    with it too. A path that cannot be created or changed is left to its reader (for the
    database, its connection), which says why."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        if path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)
    except OSError:
        return


def _private_copy(path: Path, content: str) -> str:
    """A temporary file next to ``path`` holding ``content`` whole, created 0600 (never
    readable by others, not even while being filled); its name. Removed if it cannot be
    written whole (a full disk), and the OSError raised."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(content)
    except BaseException:
        os.unlink(temporary)
        raise
    return temporary


def write_owner_only(path: Path, content: str) -> None:
    """Put ``content`` at ``path``, readable and writable by its owner only at every moment:
    written whole to a private temporary file, then renamed over ``path``. A reader sees the
    old file or the new one, never a part; if it cannot be written (OSError, raised), what was
    at ``path`` is left as it was. (``write_text`` then ``chmod`` left the content readable by
    every local user, at the umask's mode, until the chmod.)"""
    temporary = _private_copy(path, content)
    try:
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def read_or_create(path: Path, make: Callable[[], str]) -> str:
    """The file's content, creating it first with ``make()`` if it does not exist.

    Written whole to a private temporary file (mode 0600, so never readable by others, not even
    briefly), then linked into place, which fails if the file exists: when several processes
    start at once exactly one file is put there, complete, and all read the same. (Creating
    the file itself with O_EXCL and writing it after let a process starting in between read it
    empty: a gunicorn worker once booted with an empty SECRET_KEY.)
    """
    if not path.exists():
        temporary = _private_copy(path, make())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    return path.read_text()
