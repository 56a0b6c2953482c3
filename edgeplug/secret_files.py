"""Secrets the embedded default generates into var/ (never committed, never logged)."""

import os
from collections.abc import Callable
from pathlib import Path


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
