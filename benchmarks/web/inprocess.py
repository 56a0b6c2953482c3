"""What the in-process measurements (``benchmarks.web.cpu``, ``benchmarks.web.upload_cpu``)
share: Django set up against the web benchmark's database, the queries a block runs, the
timing of a block (under cProfile when asked) and the profile's listing."""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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


@contextmanager
def recorded_queries() -> Iterator[list[str]]:
    """The SQL of every query the block runs, kept after it (Django's own query log is
    cleared by the next request)."""
    from django.db import connection

    queries: list[str] = []

    def record(execute, sql, *rest):
        queries.append(sql)
        return execute(sql, *rest)

    with connection.execute_wrapper(record):
        yield queries


@dataclass
class Spent:
    """What a block took: this process's CPU seconds and wall-clock seconds."""

    cpu_s: float = 0.0
    wall_s: float = 0.0


@contextmanager
def measured(profiler: cProfile.Profile | None) -> Iterator[Spent]:
    """Times the block, profiling it with ``profiler`` when one is given; the figures are
    filled in as the block ends."""
    spent = Spent()
    cpu, wall = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    try:
        yield spent
    finally:
        if profiler:
            profiler.disable()
        spent.cpu_s, spent.wall_s = time.process_time() - cpu, time.perf_counter() - wall


def print_profile(profiler: cProfile.Profile, *, sort: str, top: int) -> None:
    """The ``top`` functions of a cProfile run, sorted by ``sort``, in one piece."""
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats(sort).print_stats(top)
    print(out.getvalue())
