"""make bench ends with one table: every figure beside its goal, from the benchmarks' JSON."""

import json

from benchmarks import summary
from benchmarks.web.cli import commit
from tests.performance.bench_runs import run_benchmark


def _write(directory, name, document):
    (directory / name).write_text(json.dumps(document))


def test_summary_lists_every_goal_what_was_not_run_and_figures_of_another_commit(tmp_path):
    _write(
        tmp_path,
        "web.json",
        {
            "commit": commit(),
            "when": "2026-11-30T04:00:00+00:00",
            "parameters": {"smoke": False},
            "goals": [
                {"goal": "list ≥ 50 % of the DB ceiling", "value": 0.64, "met": True},
                {"goal": "list p99 < 100 ms", "value": 765.0, "met": False},
            ],
        },
    )
    _write(
        tmp_path,
        "billing.json",
        {
            "commit": "0" * 40,
            "when": "2026-11-29T04:00:00+00:00",
            "smoke": False,
            "goals": [{"goal": "month close of 1,000 tenants < 30 s", "value": 12.5, "met": True}],
        },
    )
    _write(
        tmp_path,
        "bench.json",
        {
            "generated_at": "2026-11-30T03:15:09Z",
            "commit": commit(),
            "parameters": {"gate_us": 500.0},
            "firmware": [{"core": "cortex-m4", "board": "mps2-an386", "estimate_max_us": 612.0}],
        },
    )
    result = summary.summarise(tmp_path)
    verdicts = {row["goal"]: row["verdict"] for row in result["rows"]}
    assert verdicts == {
        "list ≥ 50 % of the DB ceiling": "met",
        "list p99 < 100 ms": "NOT met",
        "month close of 1,000 tenants < 30 s": "met",
        "cortex-m4 (mps2-an386) worst inference ≤ 500 µs": "NOT met",
    }
    other = {row["goal"]: row["other_commit"] for row in result["rows"]}
    assert other["month close of 1,000 tenants < 30 s"] and not other["list p99 < 100 ms"]
    assert {item["make"] for item in result["not_run"]} >= {"bench-ingest", "bench-invoices"}
    text = summary.table(result)
    assert "2 of 4 goals met." in text
    assert "| usage ingest | not run (`make bench-ingest`) |" in text
    assert "@ 0000000" in text  # the billing figure is from another commit, and says so


def test_smoke_figures_are_never_read_against_the_goals(tmp_path):
    _write(
        tmp_path,
        "ingest.json",
        {
            "commit": commit(),
            "parameters": {"smoke": True},
            "goals": [{"goal": "REST ≥ 20,000 events/s", "value": 900.0, "met": False}],
        },
    )
    result = summary.summarise(tmp_path)
    assert [row["verdict"] for row in result["rows"]] == ["smoke size"]
    assert "0 of 0 goals met." in summary.table(result)


def test_the_command_writes_json_and_prints_the_table(tmp_path):
    out = tmp_path / "summary.json"
    done = run_benchmark("benchmarks.summary", "--dir", str(tmp_path), "--out", str(out))
    assert "Every figure beside its goal" in done.stdout
    assert json.loads(out.read_text())["not_run"]
