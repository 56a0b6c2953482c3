"""What the in-process measurements (``benchmarks.web.cpu``, ``benchmarks.web.upload_cpu``)
share: Django set up against the web benchmark's database, and their cProfile listing."""

from __future__ import annotations

import cProfile
import io
import os
import pstats
from pathlib import Path

from benchmarks.web.stack import Stack


def setup_django(database_url: str, redis_url: str) -> Stack:
    """This process configured as the bench stack's web process (its environment, its var
    directory), with Django set up."""
    stack = Stack(database_url, redis_url, 1, Path("var/bench/web-run"))
    env = stack.environment()
    os.environ.clear()
    os.environ.update(env)
    import django

    django.setup()
    return stack


def print_profile(profiler: cProfile.Profile, *, sort: str, top: int) -> None:
    """The ``top`` functions of a cProfile run, sorted by ``sort``, in one piece."""
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats(sort).print_stats(top)
    print(out.getvalue())
