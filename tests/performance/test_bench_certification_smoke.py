"""make bench-smoke: the certification benchmark runs the example agent through the real
upload and certify path on the full stack (gunicorn, one Celery worker as the certification
Deployment runs it, PostgreSQL, a private Redis) at every level, and a batch of basic
packages at once, and reports every figure; no timing is asserted."""

import pytest

from certification.simulation import toolchain

pytestmark = [pytest.mark.slow, pytest.mark.worker, pytest.mark.qemu]


def test_bench_certification_smoke_certifies_every_level_and_a_batch(run_smoke, private_redis_url):
    missing = toolchain.missing_tools()
    if missing:
        pytest.skip(f"the example agent's firmware needs {', '.join(missing)}")
    result, printed = run_smoke(
        "benchmarks.certification",
        database="_certification_bench_smoke",
        redis_url=private_redis_url,
    )

    assert result["smoke"] and result["commit"] and result["machine"]["cores"] >= 1
    assert {"django", "postgresql", "redis", "celery", "qemu"} <= set(result["versions"])
    assert "--queues=certification" in result["parameters"]["worker"]
    assert list(result["levels"]) == ["basic", "standard", "hardware"]
    basic = {"validation", "invariants", "performance", "signing"}
    stages = {
        "basic": basic,
        "standard": basic | {"security"},
        "hardware": basic | {"security", "simulation"},
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
        assert text in printed
