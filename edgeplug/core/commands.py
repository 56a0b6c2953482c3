"""What management commands share: an argument read by the rule the admin's form applies to
the same field, refused as a ``CommandError`` (a message and exit 1), never a traceback or a
database error after half the work."""

import argparse
import getpass
import os
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.db import models

from edgeplug.text import ascii_integer


def field_argument(model: type[models.Model], field: str, value, *, argument: str):
    """``value`` as ``model``'s ``field`` takes it, read as the admin's form reads it:
    without the blanks around it, then its validators (length, email address, blank); else a
    ``CommandError`` naming ``argument``."""
    if isinstance(value, str):
        value = value.strip()
    try:
        return model._meta.get_field(field).clean(value, None)
    except ValidationError as refused:
        raise CommandError(f"{argument}: {' '.join(refused.messages)}") from None


def path_argument(text: str) -> Path:
    """An ``argparse`` type for a file or directory argument: ``Path("")`` is ``.``, so an
    empty one (an unset shell variable, a stray ``""``) read or wrote the current directory;
    refused as wrong usage (exit 2)."""
    if not text:
        raise argparse.ArgumentTypeError('is empty (and "" is no path: give one)')
    return Path(text)


def whole_number(low: int, high: int | None = None):
    """An ``argparse`` type: a whole number in ASCII digits from ``low`` (to ``high``), else
    refused as wrong usage (exit 2), before the command does anything."""

    def read(text: str) -> int:
        number = ascii_integer(text.strip())
        if number is None or number < low or (high is not None and number > high):
            bounds = f"from {low} to {high}" if high is not None else f"of at least {low}"
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number {bounds}")
        return number

    return read


def operator_name() -> str:
    """Who runs the command, for the audit log: the login name (``USER``, ``LOGNAME``, else
    the system's user database), else ``uid <n>``. A container may run as a uid its image's
    /etc/passwd does not name (deploy/k8s's ``runAsUser: 10001``) with neither variable set
    (``kubectl exec``), where ``getpass.getuser()`` raises KeyError (OSError from Python
    3.13) and the command would end in a traceback before doing its work."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"
