"""make bench-smoke: the ingest benchmark runs end to end at a tiny size over REST and gRPC
and reports every figure; the resend of every event adds no row (no timing is asserted)."""

import json

import pytest
from django.conf import settings

from tests.performance.bench_runs import (
    bench_database_url,
    require_wrk_and_redis,
    run_benchmark,
)

pytestmark = pytest.mark.slow


def test_bench_ingest_smoke_stores_every_event_once_and_reports_the_figures(
    tmp_path, bench_template_database
):
    require_wrk_and_redis()
    out = tmp_path / "ingest.json"
    database_url = bench_database_url("_ingest_bench_smoke")
    done = run_benchmark(
        *("benchmarks.ingest", "--smoke", "--out", str(out)),
        *("--database-url", database_url, "--redis-url", settings.REDIS_URL),
        *("--template-database", bench_template_database),
    )

    result = json.loads(out.read_text())
    assert result["machine"]["cores"] >= 1 and result["commit"]
    phases = result["phases"]
    for door in ("rest", "grpc"):
        first, resend = phases[f"{door}_first"], phases[f"{door}_resend"]
        assert first["events"] == first["accepted"] == first["rows_added"] > 0, first
        assert resend["duplicate"] == resend["events"] == first["events"], resend
        assert resend["rows_added"] == 0, resend
        assert first["events_per_s"] > 0
    assert len(result["goals"]) == 4
    for row in ("REST POST /api/v1/usage/events", "gRPC Report stream", "All goals met"):
        assert row in done.stdout
