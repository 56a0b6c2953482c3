"""Fixtures of the benchmark smoke tests."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

from benchmarks.web.stack import database_name, drop_database, recreate_database
from tests.performance.bench_runs import bench_database_url


@pytest.fixture(scope="session")
def bench_template_database() -> str:
    """A database migrated once, which every smoke run copies (``--template-database``)
    instead of migrating one of its own."""
    url = bench_database_url("_template_bench_smoke")
    recreate_database(url)
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    yield database_name(url)
    drop_database(url)
