"""What management commands share: an argument read by the rule the admin's form applies to
the same field, refused as a ``CommandError`` (a message and exit 1), never a traceback or a
database error after half the work."""

import argparse
import getpass
import math
import os
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.db import models

from edgeplug.text import ascii_decimal, ascii_integer


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


def seconds(*, above_zero: bool = False):
    """An ``argparse`` type: a number of seconds as a person types one (``10``, ``0.5``:
    ``ascii_decimal``), finite and at least 0 (above 0 where ``above_zero``), else refused as
    wrong usage (exit 2), before the command does anything. ``float`` also read ``nan``,
    ``inf`` and ``-1``, which made a timeout or a deadline none at all (a NaN deadline
    passes at once: ``grpcserver --grace nan`` killed its servers on SIGTERM)."""

    def read(text: str) -> float:
        number = ascii_decimal(text)
        value = math.nan if number is None else float(number)  # past a double's range: inf
        low_enough = value > 0 if above_zero else value >= 0
        if not (low_enough and math.isfinite(value)):
            bounds = "above 0" if above_zero else "of at least 0"
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds {bounds}")
        return value

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
