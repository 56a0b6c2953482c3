"""make bench-smoke: the web benchmark runs end to end at a tiny size and reports every
figure (no timing is asserted: figures are for people, see docs/benchmarks.md)."""

import pytest

pytestmark = pytest.mark.slow


def test_bench_web_smoke_prints_and_writes_every_figure(run_smoke, suite_redis_url):
    result, printed = run_smoke(
        "benchmarks.web", database="_bench_smoke", redis_url=suite_redis_url
    )

    assert result["machine"]["cores"] >= 1 and result["commit"]
    assert {"django", "postgresql", "redis", "gunicorn", "wrk"} <= set(result["versions"])
    assert result["seed"]["seeded_by"].startswith("factories")
    assert set(result["reads"]) == {
        *("ceiling", "db_ceiling", "list", "detail", "health"),
        *("search", "list_uncached", "search_uncached"),
    }
    for name, figures in result["reads"].items():
        # Every target answers 200; a one-second wrk run may finish none of a slow target's
        # requests on a loaded machine, which is a figure, not a failure.
        assert figures["probe_status"] == 200 and figures["errors"] == 0, (name, figures)
    for phase in ("new_agent", "grown_agent"):
        upload = result["uploads"][phase]
        assert upload["uploads"] > 0 and upload["created"] == upload["uploads"], upload
    assert result["worker_rss_mb"] and len(result["goals"]) == 9
    for row in ("GET /api/v1/agents?page_size=20", "/health", "Web worker RSS", "a cache miss"):
        assert row in printed
