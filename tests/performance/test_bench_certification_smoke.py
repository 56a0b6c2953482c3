"""make bench-smoke: the certification benchmark runs the example agent through the real
upload and certify path on the full stack (gunicorn, one Celery worker as the certification
Deployment runs it, PostgreSQL, a private Redis) at every level, and a batch of basic
packages at once, and reports every figure; no timing is asserted."""

import json

import pytest

from certification.simulation import toolchain
from tests.faults.components import REDIS_SERVER, PrivateRedis
from tests.performance.bench_runs import bench_database_url, run_benchmark

pytestmark = [pytest.mark.slow, pytest.mark.worker, pytest.mark.qemu]


def test_bench_certification_smoke_certifies_every_level_and_a_batch(
    tmp_path, bench_template_database
):
    database_url = bench_database_url("_certification_bench_smoke")
    if REDIS_SERVER is None:
        pytest.skip("needs redis-server: the benchmark's worker gets a broker of its own")
    missing = toolchain.missing_tools()
    if missing:
        pytest.skip(f"the example agent's firmware needs {', '.join(missing)}")
    # A broker of its own: the suite's session worker must not take the benchmark's runs.
    redis = PrivateRedis(tmp_path)
    redis.start()
    out = tmp_path / "certification.json"
    try:
        done = run_benchmark(
            *("benchmarks.certification", "--smoke", "--out", str(out)),
            *("--database-url", database_url, "--redis-url", redis.url),
            *("--template-database", bench_template_database),
        )
    finally:
        redis.stop()

    result = json.loads(out.read_text())
    assert result["smoke"] and result["commit"] and result["machine"]["cores"] >= 1
    assert {"django", "postgresql", "redis", "celery", "qemu"} <= set(result["versions"])
    assert "--queues=certification" in result["parameters"]["worker"]
    assert list(result["levels"]) == ["basic", "standard", "hardware"]
    stages = {
        "basic": {"validation", "invariants", "performance", "signing"},
        "standard": {"validation", "invariants", "performance", "security", "signing"},
        "hardware": {
            "validation",
            "invariants",
            "performance",
            "security",
            "simulation",
            "signing",
        },
    }
    for level, row in result["levels"].items():
        assert row["repetitions"] == 1 and row["median_s"] > 0
        assert row["median_worker_cpu_s"] > 0
        [run] = row["runs"]
        # Every stage the level requires ran and was timed, from the server's own rows.
        assert set(run["breakdown"]["stage_ms"]) == stages[level]
        assert run["breakdown"]["server_total_ms"] > 0
    batch = result["batch"]
    assert batch["packages"] == 2 and batch["per_hour"] > 0 and batch["worker_cpu_s"] > 0
    assert {r["goal"].split()[0] for r in result["goals"]} == {"hardware", ">="}
    for text in ("| hardware |", "packages/hour/worker", "Where a run's time goes"):
        assert text in done.stdout
