"""Command-line argument types without Django: the benchmarks (``benchmarks.soak``) import
them before, or without, Django's settings; management commands use them too."""

import argparse
import math

from edgeplug.text import ascii_decimal


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
