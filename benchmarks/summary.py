"""The last step of ``make bench``: every figure beside its goal, read from the JSON each
benchmark wrote under ``var/bench/``, in one table.

Each benchmark prints its own detailed table as it runs; this one gathers the goals so a
reader sees at a glance what is met, missed or was not measured, and from which commit and
run each figure comes (a figure from another commit than HEAD is marked). A benchmark whose
JSON is missing is listed as not run.

``python -m benchmarks.summary [--dir var/bench] [--out var/bench/summary.json]``
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchmarks.web.cli import commit

# file, benchmark name, make target
BENCHES = [
    ("bench.json", "TFLM and firmware latency", "bench"),
    ("certification.json", "certification", "bench-certification"),
    ("web.json", "web: catalogue, uploads, memory", "bench-web"),
    ("gunicorn.json", "gunicorn configurations", "bench-gunicorn"),
    ("ingest.json", "usage ingest", "bench-ingest"),
    ("billing.json", "billing: month close, rating", "bench-billing"),
    ("invoices_pdf.json", "invoice PDFs", "bench-invoices"),
    ("soak.json", "soak", "soak"),
]


def _firmware_goals(result: dict) -> list[dict]:
    gate = result["parameters"]["gate_us"]
    return [
        {
            "goal": f"{row['core']} ({row['board']}) worst inference ≤ {gate:g} µs",
            "value": row["estimate_max_us"],
            "met": row["estimate_max_us"] <= gate,
        }
        for row in result.get("firmware", [])
    ]


def _invoice_goals(result: dict) -> list[dict]:
    return [
        {
            "goal": "invoice PDFs per second (no goal set)",
            "value": result["invoices_per_second"],
            "met": None,
        }
    ]


def goals_of(file: str, result: dict) -> list[dict]:
    if file == "bench.json":
        return _firmware_goals(result)
    if file == "invoices_pdf.json":
        return _invoice_goals(result)
    return result.get("goals", [])


def _verdict(goal: dict, smoke: bool) -> str:
    if smoke:
        return "smoke size"
    if goal["met"] is None:
        return "—"
    return "met" if goal["met"] else "NOT met"


def summarise(directory: Path) -> dict:
    head = commit()
    rows, missing = [], []
    for file, name, target in BENCHES:
        path = directory / file
        if not path.exists():
            missing.append({"benchmark": name, "make": target})
            continue
        result = json.loads(path.read_text())
        measured = result.get("commit", "")
        when = result.get("when") or result.get("generated_at") or result.get("at") or ""
        smoke = bool(result.get("smoke") or result.get("parameters", {}).get("smoke"))
        for goal in goals_of(file, result):
            rows.append(
                {
                    "benchmark": name,
                    **goal,
                    "verdict": _verdict(goal, smoke),
                    "when": when,
                    "commit": measured,
                    "other_commit": bool(measured) and measured != head,
                }
            )
    return {"commit": head, "rows": rows, "not_run": missing}


def _value(value) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    return "" if value is None else f"{value:,}" if isinstance(value, int) else str(value)


def table(summary: dict) -> str:
    lines = [
        f"Every figure beside its goal (HEAD {summary['commit'][:12]})",
        "",
        "| benchmark | goal | measured | verdict | when |",
        "|---|---|---|---|---|",
    ]
    for row in summary["rows"]:
        when = row["when"][:16] + (f" @ {row['commit'][:7]}" if row["other_commit"] else "")
        lines.append(
            f"| {row['benchmark']} | {row['goal']} | {_value(row['value'])} | "
            f"{row['verdict']} | {when} |"
        )
    for item in summary["not_run"]:
        lines.append(f"| {item['benchmark']} | not run (`make {item['make']}`) | | | |")
    judged = [r for r in summary["rows"] if r["verdict"] in ("met", "NOT met")]
    met = sum(r["verdict"] == "met" for r in judged)
    lines += ["", f"{met} of {len(judged)} goals met."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.summary", description=__doc__)
    parser.add_argument("--dir", type=Path, default=Path("var/bench"))
    parser.add_argument("--out", type=Path, default=Path("var/bench/summary.json"))
    args = parser.parse_args(argv)
    summary = summarise(args.dir)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2) + "\n")
    print(table(summary))
    print(f"\nJSON: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
