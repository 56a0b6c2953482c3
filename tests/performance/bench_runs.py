"""How the benchmark smoke tests start a benchmark: as ``make`` does, a separate Python
process, against a database of its own named after the suite's."""

import subprocess
import sys

import pytest
from django.conf import settings


def bench_database_url(suffix: str) -> str:
    """The suite's database name plus ``suffix`` (which must contain "bench": it is dropped)."""
    db = settings.DATABASES["default"]
    if "postgresql" not in db["ENGINE"]:
        pytest.skip("the benchmark runs the full stack: it needs DATABASE_URL on PostgreSQL")
    return (
        f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}{suffix}"
    )


def run_benchmark(module: str, *args: str) -> subprocess.CompletedProcess:
    """``python -m module args``; fails the test, with the end of stderr, unless it exits 0."""
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done
