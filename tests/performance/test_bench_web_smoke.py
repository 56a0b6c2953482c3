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


# A benchmark (``benchmarks.<module>``) and a number of seconds that is no time at all.
NO_TIME = {
    "web.__main__": "--duration=nan",
    "gunicorn_matrix": "--duration=0",
    "soak": "--duration=-1m --window=inf --calibrate=0 --cert-interval=nan",
}


@pytest.mark.parametrize(
    ("benchmark", "argument"),
    [(benchmark, argument) for benchmark, given in NO_TIME.items() for argument in given.split()],
)
def test_a_benchmark_refuses_seconds_that_are_no_time(tmp_path, capsys, benchmark, argument):
    """Read as any float, ``nan``, ``inf``, 0 or a negative number of seconds was taken and
    the stack started with it; now wrong usage (exit 2), before anything runs."""
    import importlib

    main = importlib.import_module(f"benchmarks.{benchmark}").main
    with pytest.raises(SystemExit) as refused:
        main([argument, "--out", str(tmp_path / "x.json")])
    assert refused.value.code == 2
    option, value = argument.split("=")
    what = "duration" if argument.startswith("--duration=-1m") else "number of seconds"
    assert f"{option}: {value!r} is not a {what} above 0" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()
