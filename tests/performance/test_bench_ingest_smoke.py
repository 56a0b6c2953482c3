"""make bench-smoke: the ingest benchmark runs end to end at a tiny size over REST and gRPC
and reports every figure; the resend of every event adds no row (no timing is asserted)."""

import pytest

pytestmark = pytest.mark.slow


def test_bench_ingest_smoke_stores_every_event_once_and_reports_the_figures(
    run_smoke, suite_redis_url
):
    result, printed = run_smoke(
        "benchmarks.ingest", database="_ingest_bench_smoke", redis_url=suite_redis_url
    )

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
        assert row in printed
