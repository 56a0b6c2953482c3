"""Secrets the embedded default generates into var/ (never committed, never logged)."""

import os
import secrets
from collections.abc import Callable
from pathlib import Path


def generate_secret() -> str:
    """A 64-byte random secret in the URL-safe alphabet (A-Z a-z 0-9 - _).

    Not Django's get_random_secret_key(): its alphabet has ``$`` and other shell and
    django-environ metacharacters, and a key starting with ``$`` would be read as a
    reference to another variable wherever it is passed through an environment.
    """
    return secrets.token_urlsafe(64)


def read_or_create(path: Path, make: Callable[[], str]) -> str:
    """The file's content, creating it first with ``make()`` if it does not exist.

    Created with O_EXCL and mode 0600, so it is never readable by others, not even briefly,
    and when several processes start at once exactly one writes it and all read the same.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as fh:
            fh.write(make())
    return path.read_text()
