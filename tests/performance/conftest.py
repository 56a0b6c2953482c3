"""Fixtures of the benchmark smoke tests."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

from benchmarks.web.stack import database_name, drop_database, recreate_database


def bench_database_url(role: str) -> str:
    """A database of the smoke run ``role`` beside the test database (dropped and made anew
    by the benchmark: its name contains "bench")."""
    db = settings.DATABASES["default"]
    if "postgresql" not in db["ENGINE"]:
        pytest.skip("the benchmarks run the full stack: they need DATABASE_URL on PostgreSQL")
    return (
        f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}_{role}bench_smoke"
    )


@pytest.fixture(scope="session")
def bench_template_database() -> str:
    """A database migrated once, which every smoke run copies (``--template-database``)
    instead of migrating one of its own."""
    url = bench_database_url("template_")
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
