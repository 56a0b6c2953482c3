"""What every full-stack benchmark command line shares: the stack's options, the commit it
measured, and the last steps (run, refuse on a stack error, write the JSON, print the table)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from benchmarks.web.stack import ROOT, StackError, add_template_argument


class UrlOption(NamedTuple):
    """A ``--database-url`` or ``--redis-url`` default: its environment variable when set,
    else its own URL."""

    env: str
    default: str

    def value(self) -> str:
        return os.environ.get(self.env, self.default)


# The web stack's (bench-web, bench-gunicorn and the in-process tools).
DATABASE_URL = UrlOption("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/edgeplug_bench")
REDIS_URL = UrlOption("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")


# gunicorn's sync workers as the Dockerfile, docker-compose.yml and the ConfigMap start it
# (tests/performance/test_bench_gunicorn_smoke.py reads them).
DEPLOYED_WORKERS = 4


def bench_parser(name: str, description: str | None, *, smoke: str) -> argparse.ArgumentParser:
    """``python -m benchmarks.<name>`` with ``--out`` (``var/bench/<name>.json``) and
    ``--smoke`` (``smoke`` says what the tiny run is)."""
    parser = argparse.ArgumentParser(prog=f"python -m benchmarks.{name}", description=description)
    parser.add_argument("--out", default=f"var/bench/{name}.json")
    parser.add_argument("--smoke", action="store_true", help=smoke)
    return parser


def add_workers_argument(parser: argparse.ArgumentParser, option: str = "--workers") -> None:
    """``option``: gunicorn sync workers, as many as deployed unless given."""
    parser.add_argument(
        option,
        type=int,
        default=DEPLOYED_WORKERS,
        help=f"gunicorn sync workers ({DEPLOYED_WORKERS}, as deployed)",
    )


def add_database_arguments(parser: argparse.ArgumentParser, database_url: UrlOption) -> None:
    """``--database-url`` (defaulting to ``database_url``), ``--keep-database`` and
    ``--template-database``."""
    parser.add_argument("--database-url", default=database_url.value())
    parser.add_argument("--keep-database", action="store_true")
    add_template_argument(parser)


def add_stack_arguments(
    parser: argparse.ArgumentParser, database_url: UrlOption, redis_url: UrlOption = REDIS_URL
) -> None:
    """The database's arguments and ``--redis-url`` (defaulting to ``redis_url``)."""
    add_database_arguments(parser, database_url)
    parser.add_argument("--redis-url", default=redis_url.value())


def commit() -> str:
    """The measured commit, ``-dirty`` when tracked files differ from it."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    sha = git("rev-parse", "HEAD") or "unknown"
    return sha + ("-dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def provenance() -> dict:
    """When, at which commit and on what machine a result was measured (the load average
    taken as the run ends)."""
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit(),
        "machine": {
            "cores": os.cpu_count(),
            "platform": platform.platform(),
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
    }


def chosen_size(args: argparse.Namespace, *, full: dict, smoke: dict) -> dict:
    """``smoke`` or ``full`` as ``--smoke`` says, with each figure given on the command line
    (by the option of the same name) in place of its default."""
    size = dict(smoke if args.smoke else full)
    for key in size:
        if getattr(args, key, None) is not None:
            size[key] = getattr(args, key)
    return size


def title(result: dict, benchmark: str, setup: str, *, smoke: bool) -> str:
    """A results table's first line: the benchmark, the machine's cores and the ``setup``
    measured; a smoke-size run says its figures are not comparable with the goals."""
    return f"EdgePlug {benchmark} — {result['machine']['cores']} cores, {setup}" + (
        " — SMOKE SIZE: not comparable with the goals" if smoke else ""
    )


def finish(
    name: str,
    run: Callable[[argparse.Namespace], dict],
    args: argparse.Namespace,
    table: Callable[[dict], str],
) -> int:
    """Run the benchmark; on a stack error say so and answer 2, else write ``args.out`` and
    print the table."""
    try:
        result = run(args)
    except StackError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print()
    print(table(result))
    print(f"\nJSON: {out}")
    return 0
