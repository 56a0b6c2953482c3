"""make soak --smoke: ten seconds of mixed traffic on the full stack (gunicorn, a Celery
worker, PostgreSQL, a private Redis) reports every figure; no timing is asserted."""

import pytest

pytestmark = pytest.mark.slow


def test_soak_smoke_sends_every_kind_of_traffic_and_reports_it(run_smoke, private_redis_url):
    result, printed = run_smoke(
        "benchmarks.soak", database="_soak_bench_smoke", redis_url=private_redis_url
    )

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
        assert row in printed
