"""make bench-smoke: the gunicorn configuration benchmark runs the deployed default and a
gthread configuration end to end at a tiny size and reports every figure (no timing is
asserted). Authenticated targets under gthread workers exercise the per-process state the
threads share (the compiled membership query, throttle scripts, the catalogue cache)."""

import re
from pathlib import Path

import pytest
from django.conf import settings

from benchmarks.gunicorn_matrix import DEPLOYED, Config

pytestmark = pytest.mark.slow


def test_bench_gunicorn_smoke_compares_configurations_beside_the_default(
    run_smoke, suite_redis_url
):
    result, printed = run_smoke(
        "benchmarks.gunicorn_matrix",
        database="_gunicorn_bench_smoke",
        redis_url=suite_redis_url,
    )

    assert result["machine"]["cores"] >= 1 and result["commit"]
    assert {"django", "postgresql", "redis", "gunicorn", "wrk"} <= set(result["versions"])
    configs = result["configs"]
    assert set(configs) == {"sync:4", "gthread:2x2"}
    assert result["parameters"]["deployed_default"] == DEPLOYED
    for key, figures in configs.items():
        assert set(figures["reads"]) == {"ceiling", "list", "detail", "list_uncached"}
        # Every target answered 200 before it was driven (the benchmark exits non-zero if not);
        # a one-second wrk run may finish none of a slow target's requests on a loaded machine.
        for name, read in figures["reads"].items():
            assert read["errors"] == 0, (key, name, read)
            assert read["cpu_ms_per_request"] is None or read["cpu_ms_per_request"] > 0
        # gunicorn's CPU per request served, from /proc and its access log.
        assert figures["reads"]["ceiling"]["cpu_ms_per_request"] > 0
        upload = figures["uploads"]
        assert upload["uploads"] > 0 and upload["created"] == upload["uploads"], (key, upload)
        assert len(figures["worker_rss_mb"]) == figures["workers"]
        assert figures["score"] > 0
    assert configs[DEPLOYED]["score"] == 1.0
    assert result["best"] in configs and len(result["goals"]) == 1
    for row in ("| sync:4 (deployed) |", "| gthread:2x2 |", "CPU ms per request", "Best measured:"):
        assert row in printed


def test_the_benchmarks_deployed_default_is_what_is_deployed():
    """The row marked "deployed" is the Dockerfile's, docker-compose's and the ConfigMap's."""
    default = Config.parse(DEPLOYED)
    root = Path(settings.BASE_DIR)
    sources = {
        "Dockerfile": root / "Dockerfile",
        "docker-compose.yml": root / "docker-compose.yml",
        "configmap": root / "deploy/k8s/base/configmap.yaml",
    }
    for name, path in sources.items():
        text = path.read_text()
        workers = re.findall(r'--workers"?,?\s*"?(\d+)', text)
        assert workers == [str(default.workers)], (name, workers)
        threads = re.findall(r'--threads"?,?\s*"?(\d+)', text)
        worker_class = re.findall(r'--worker-class"?,?\s*"?(\w+)', text)
        assert (worker_class or ["sync"]) == [default.worker_class], (name, worker_class)
        assert (int(threads[0]) if threads else 1) == default.threads, (name, threads)
