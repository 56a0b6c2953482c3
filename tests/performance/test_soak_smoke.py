"""make soak --smoke: ten seconds of mixed traffic on the full stack (gunicorn, a Celery
worker, PostgreSQL, a private Redis) reports every figure; no timing is asserted."""

import json

import pytest

from tests.faults.components import REDIS_SERVER, PrivateRedis
from tests.performance.bench_runs import bench_database_url, run_benchmark

pytestmark = pytest.mark.slow


def test_soak_smoke_sends_every_kind_of_traffic_and_reports_it(tmp_path, bench_template_database):
    database_url = bench_database_url("_soak_bench_smoke")
    if REDIS_SERVER is None:
        pytest.skip("needs redis-server: the soak's worker gets a broker of its own")
    # A broker of its own: the suite's session worker must not take the soak's runs.
    redis = PrivateRedis(tmp_path)
    redis.start()
    out = tmp_path / "soak.json"
    try:
        done = run_benchmark(
            *("benchmarks.soak", "--smoke", "--out", str(out)),
            *("--database-url", database_url, "--redis-url", redis.url),
            *("--template-database", bench_template_database),
        )
    finally:
        redis.stop()

    result = json.loads(out.read_text())
    assert result["commit"] and result["machine"]["cores"] >= 1
    assert {"django", "postgresql", "redis", "gunicorn"} <= set(result["versions"])
    assert result["parameters"]["smoke"] and result["parameters"]["rate_per_s"] > 0
    assert set(result["by_kind"]) == {"browse", "ingest", "upload", "certify"}
    assert result["errors"] == 0, result["error_kinds"]
    assert result["certification"]["outcomes"] == {"passed": result["certification"]["submitted"]}
    # The maximum the rate derives from was measured with certification running, as in the soak.
    assert result["parameters"]["calibrated_with_certification"]
    calibration = result["calibration_certification"]
    assert calibration["submitted"] >= 1
    assert calibration["outcomes"] == {"passed": calibration["submitted"]}
    assert result["windows"] and all(w["p99_ms"] > 0 for w in result["windows"])
    processes = {row["process"].split(" child")[0] for row in result["rss"]}
    assert processes == {"gunicorn", "celery"}
    assert any(
        " child " in row["process"] for row in result["rss"] if row["process"].startswith("celery")
    )
    for row in ("| browse |", "p99 over time", "RSS growth", "Calibration's certification runs"):
        assert row in done.stdout
