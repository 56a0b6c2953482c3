"""Fixtures of the benchmark smoke tests."""

import json
import os
import shutil
import subprocess
import sys

import pytest
from django.conf import settings

from benchmarks.web.stack import database_name, drop_database, recreate_database
from tests.faults.components import REDIS_SERVER, PrivateRedis
from tests.performance.bench_runs import bench_database_url, run_benchmark


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


@pytest.fixture
def run_smoke(tmp_path, bench_template_database):
    """``run_smoke(module, database=suffix, redis_url=...)`` runs ``python -m module --smoke``
    on a copy of the template database named after the suite's plus ``suffix``, and answers
    the JSON it wrote and what it printed."""

    def run(module: str, *, database: str, redis_url: str | None = None) -> tuple[dict, str]:
        out = tmp_path / f"{module}.json"
        done = run_benchmark(
            *(module, "--smoke", "--out", str(out), "--database-url", bench_database_url(database)),
            *("--template-database", bench_template_database),
            *(("--redis-url", redis_url) if redis_url else ()),
        )
        return json.loads(out.read_text()), done.stdout

    return run


@pytest.fixture
def suite_redis_url() -> str:
    """The suite's Redis (REDIS_URL), for a benchmark that starts no worker; skips unless the
    full stack can run: wrk (the web benchmark drives with it, and every stack reports its
    version) and REDIS_URL."""
    if shutil.which("wrk") is None:
        pytest.skip("needs wrk (scripts/bootstrap.sh installs it)")
    if not settings.REDIS_URL:
        pytest.skip("the benchmark runs the full stack: it needs REDIS_URL")
    return settings.REDIS_URL


@pytest.fixture
def private_redis_url(tmp_path):
    """A Redis of the test's own for a benchmark that starts a Celery worker: the suite's
    session worker must not take the benchmark's runs."""
    if REDIS_SERVER is None:
        pytest.skip("needs redis-server: the benchmark's worker gets a broker of its own")
    redis = PrivateRedis(tmp_path)
    redis.start()
    yield redis.url
    redis.stop()
