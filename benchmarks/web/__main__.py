"""``make bench-web``: catalogue browse, signed uploads and worker memory on the full stack.

Starts gunicorn as deployed against its own PostgreSQL database (``BENCH_DATABASE_URL``, the
name must contain "bench"; it is dropped and recreated) and Redis (``BENCH_REDIS_URL``), seeds
a catalogue, then drives each target with ``wrk`` in interleaved rounds and prints medians
beside the goals of issue 11. JSON with the machine, versions and commit goes to ``--out``.
"""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import asdict
from pathlib import Path

from benchmarks.web import cli, drive
from benchmarks.web.stack import (
    Stack,
    cpu_by_part,
    fresh_database,
)
from edgeplug.arguments import seconds

UPLOAD_AGENT = "upload-bench"

FULL = {
    "agents": 61,
    "versions": 73,
    "rounds": 3,
    "duration": 15.0,
    "connections": 32,
    "upload_size": 1024 * 1024,
    "upload_clients": 10,
    "uploads": 200,
    "grow_to": 500,
}
SMOKE = {
    "agents": 6,
    "versions": 8,
    "rounds": 1,
    "duration": 1.0,
    "connections": 4,
    "upload_size": 64 * 1024,
    "upload_clients": 2,
    "uploads": 6,
    "grow_to": 20,
}

LIST = "/api/v1/agents?page_size=20"
# A typo on purpose: full-text search (no stem matches) falls back to trigram similarity.
SEARCH = "/api/v1/agents?page_size=20&q=anomoly"
# Every list response carries its facets. The catalogue is cached per URL, so the plain
# targets measure what a repeated query costs; the *_uncached ones send each request to a
# distinct host name (benchmarks/web/report.lua), so each computes search, page and facets.
UNCACHED = {"list_uncached", "search_uncached"}
# The targets held to "≥ 50 % of the DB ceiling" (issues 11 and 12): the catalogue as it is
# served. The cache misses are measured and shown beside them with their ratio, as what a miss
# costs, not as a goal (neither issue sets one for them; the cache is how the goals are met).
DB_BOUND = ("list", "detail", "search")

# name, path, whose token, label
TARGETS = [
    ("ceiling", "/bench/ceiling", None, "bare Django, 20-item JSON, no DB (the ceiling)"),
    ("db_ceiling", "/bench/rows", None, "bare Django + one 20-row query (the DB ceiling)"),
    ("list", LIST, "customer", "GET /api/v1/agents?page_size=20"),
    ("detail", "/api/v1/agents/{detail}", "customer", "GET /api/v1/agents/{id}"),
    ("search", SEARCH, "customer", "GET /api/v1/agents?page_size=20&q=anomoly"),
    ("list_uncached", LIST, "customer", "the list, every request a cache miss"),
    ("search_uncached", SEARCH, "customer", "the search, every request a cache miss"),
    ("health", "/health", None, "/health"),
]


def _goals(reads: dict, uploads: dict, rss: list[float], grow_to: int) -> list[dict]:
    def ratio(a: str, b: str) -> float:
        """0 when the reference answered nothing (a run too short for a loaded machine)."""
        reference = reads[b]["requests_per_s"]
        return round(reads[a]["requests_per_s"] / reference, 3) if reference else 0.0

    new, grown = uploads["new_agent"], uploads["grown_agent"]
    flat = round(grown["p50_ms"] / max(new["p50_ms"], 1e-9), 2)
    return [
        *(
            {
                "goal": f"{name} ≥ 50 % of the DB ceiling",
                "value": ratio(name, "db_ceiling"),
                "met": ratio(name, "db_ceiling") >= 0.5,
            }
            for name in DB_BOUND
        ),
        {
            "goal": "list p99 < 100 ms",
            "value": reads["list"]["p99_ms"],
            "met": reads["list"]["p99_ms"] < 100,
        },
        {
            "goal": "/health ≥ 80 % of the bare ceiling",
            "value": ratio("health", "ceiling"),
            "met": ratio("health", "ceiling") >= 0.8,
        },
        {
            "goal": "upload p95 < 150 ms (new agent)",
            "value": new["p95_ms"],
            "met": new["p95_ms"] < 150 and new["errors"] == 0,
        },
        {
            "goal": f"upload p95 < 150 ms (agent at {grow_to} versions)",
            "value": grown["p95_ms"],
            "met": grown["p95_ms"] < 150 and grown["errors"] == 0,
        },
        {
            "goal": f"upload flat: p50 at {grow_to} versions ≤ 1.3 x a new agent's",
            "value": flat,
            "met": flat <= 1.3,
        },
        {
            "goal": "web worker RSS < 120 MB after the bench",
            "value": max(rss) if rss else None,
            "met": bool(rss) and max(rss) < 120,
        },
    ]


def _table(result: dict) -> str:
    p = result["parameters"]
    reads, goals = result["reads"], {g["goal"]: g for g in result["goals"]}
    lines = [
        cli.title(
            result,
            "web benchmark",
            f"gunicorn {p['workers']} sync workers, wrk -t2 -c{p['connections']} "
            f"-d{p['duration']:g}s, medians of {p['rounds']} interleaved rounds; "
            f"{result['seed']['agents']} agents / {result['seed']['public_versions']} public "
            f"versions, seeded by {result['seed']['seeded_by'].split(' (')[0]}",
            smoke=p["smoke"],
        ),
        "",
        "| target | req/s | p50 ms | p99 ms | errors | ratio | goal |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, _, _, label in TARGETS:
        row = reads[name]
        ratio, goal = "", ""
        if name in DB_BOUND:
            ratio = f"{goals[f'{name} ≥ 50 % of the DB ceiling']['value']:.0%} of DB"
            goal = "≥ 50 %" + (", p99 < 100 ms" if name == "list" else "")
            met = goals[f"{name} ≥ 50 % of the DB ceiling"]["met"] and (
                name != "list" or goals["list p99 < 100 ms"]["met"]
            )
            goal += " — met" if met else " — NOT met"
        elif name in UNCACHED:
            reference = reads["db_ceiling"]["requests_per_s"]
            if reference:
                ratio = f"{row['requests_per_s'] / reference:.0%} of DB"
            goal = "none: what a cache miss costs"
        elif name == "health":
            ratio = f"{goals['/health ≥ 80 % of the bare ceiling']['value']:.0%} of bare"
            met = goals["/health ≥ 80 % of the bare ceiling"]["met"]
            goal = "≥ 80 %" + (" — met" if met else " — NOT met")
        lines.append(
            f"| {label} | {row['requests_per_s']:,.0f} | {row['p50_ms']:.1f} | "
            f"{row['p99_ms']:.1f} | {row['errors']} | {ratio} | {goal} |"
        )
    size_kib = p["upload_size"] // 1024
    lines += [
        "",
        f"Uploads of {size_kib} KiB signed packages, {p['upload_clients']} concurrent clients "
        "(threaded keep-alive client; the grown agent's versions seeded by factories):",
        "",
        "| agent | uploads | created | errors | per s | p50 ms | p95 ms | p99 ms | CPU ms per "
        "upload: gunicorn + PostgreSQL + client | goal |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key, label in (
        ("new_agent", "new (0 → N versions)"),
        ("grown_agent", f"grown to {p['grow_to']} versions"),
    ):
        u = result["uploads"][key]
        met = u["p95_ms"] < 150 and u["errors"] == 0
        cpu = u.get("cpu_ms_per_upload")  # absent from results of older commits
        parts = [cpu[part] for part in ("gunicorn", "postgresql", "client")] if cpu else []
        lines.append(
            f"| {label} | {u['uploads']} | {u['created']} | {u['errors']} | {u['per_s']} | "
            f"{u['p50_ms']:.1f} | {u['p95_ms']:.1f} | {u['p99_ms']:.1f} | "
            f"{' + '.join(f'{x:.1f}' for x in parts)}{f' = {sum(parts):.1f}' if parts else ''} | "
            f"p95 < 150 ms — {'met' if met else 'NOT met'} |"
        )
    flat = goals[f"upload flat: p50 at {p['grow_to']} versions ≤ 1.3 x a new agent's"]
    rss = result["worker_rss_mb"]
    rss_goal = goals["web worker RSS < 120 MB after the bench"]
    lines += [
        "",
        f"Upload flatness: p50 at {p['grow_to']} versions / new agent = {flat['value']} "
        f"(goal ≤ 1.3 — {'met' if flat['met'] else 'NOT met'})",
        f"Web worker RSS after the bench: {', '.join(f'{r:.0f} MB' for r in rss)} "
        f"(goal < 120 MB — {'met' if rss_goal['met'] else 'NOT met'})",
        "",
        f"All goals met: {'yes' if all(g['met'] for g in result['goals']) else 'NO'}",
    ]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> dict:
    size = cli.chosen_size(args, full=FULL, smoke=SMOKE)
    run_dir = Path(args.out).resolve().parent / "web-run"
    stack = Stack(args.database_url, args.redis_url, args.workers, run_dir)
    with fresh_database(stack, args) as versions:
        seed = stack.seed_catalogue(size["agents"], size["versions"])
        tokens = {"customer": seed["customer_token"], "vendor": seed["vendor_token"]}
        signer = drive.Signer.from_seed(seed)
        stack.start()
        urls = {
            name: stack.base_url + path.format(detail=seed["detail_agent_id"])
            for name, path, _, _ in TARGETS
        }

        def drive_target(name: str, who: str | None, duration: float):
            drive.settle(urls["health"])
            return drive.wrk(
                urls[name],
                connections=size["connections"],
                duration_s=duration,
                threads=2,
                token=tokens[who] if who else "",
                bust_cache=name in UNCACHED,
            )

        probes = {
            name: drive.probe(urls[name], tokens[who] if who else "") for name, _, who, _ in TARGETS
        }
        for name, _, who, _ in TARGETS:  # warm-up: imports, connections, the cache
            drive_target(name, who, min(2.0, size["duration"]))
        rounds: dict[str, list[drive.WrkResult]] = {name: [] for name, *_ in TARGETS}
        order = list(TARGETS)
        for number in range(size["rounds"]):
            # Interleaved: every target once per round, in a different order each round.
            random.Random(number).shuffle(order)  # noqa: S311 - an order, not a secret
            for name, _, who, _ in order:
                result = drive_target(name, who, size["duration"])
                rounds[name].append(result)
                print(
                    f"round {number + 1}: {name:<10} {result.requests_per_s:>8,.0f} req/s  "
                    f"p50 {result.p50_ms:6.1f} ms  p99 {result.p99_ms:6.1f} ms  "
                    f"errors {result.errors}",
                    flush=True,
                )
        reads = {
            name: {**asdict(drive.median_result(results)), "probe_status": probes[name]}
            for name, results in rounds.items()
        }

        uploads = {}
        for key, major in (("new_agent", 1), ("grown_agent", 2)):
            if key == "grown_agent":
                grown = stack.seed(
                    "grow",
                    "--vendor",
                    seed["vendor_slug"],
                    "--agent",
                    UPLOAD_AGENT,
                    "--to",
                    str(size["grow_to"]),
                )
                print(f"grew {UPLOAD_AGENT} to {grown['versions']} versions by factories")
            warm_up = args.workers  # about one per worker, so each finds JSON Schema loaded
            bodies = drive.signed_uploads(
                size["uploads"] + warm_up,
                size=size["upload_size"],
                signer=signer,
                agent=UPLOAD_AGENT,
                major=major,
            )
            warm, bodies = bodies[:warm_up], bodies[warm_up:]
            drive.run_uploads(stack.port, tokens["vendor"], warm, size["upload_clients"])
            cpu = cpu_by_part(stack)
            uploads[key] = asdict(
                drive.run_uploads(stack.port, tokens["vendor"], bodies, size["upload_clients"])
            )
            # CPU ms per upload, by part: where the machine's cores went (a wall-clock p95 on
            # a 2-core machine is this cost queued behind the other clients' uploads).
            uploads[key]["cpu_ms_per_upload"] = {
                part: round((used - cpu[part]) * 1000 / len(bodies), 1)
                for part, used in cpu_by_part(stack).items()
            }
            print(f"uploads ({key}): {uploads[key]}", flush=True)
        rss = stack.worker_rss_mb()

    public_seed = {k: v for k, v in seed.items() if not k.endswith(("token", "private_key"))}
    result = {
        **cli.provenance(),
        "versions": versions,
        "parameters": {**size, "workers": args.workers, "smoke": args.smoke},
        "seed": public_seed,
        "reads": reads,
        "rounds": {name: [asdict(r) for r in results] for name, results in rounds.items()},
        "uploads": uploads,
        "worker_rss_mb": rss,
    }
    result["goals"] = _goals(reads, uploads, rss, size["grow_to"])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = cli.bench_parser("web", __doc__, smoke="tiny sizes, seconds; for CI")
    cli.add_workers_argument(parser)
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--duration", type=seconds(above_zero=True), help="seconds per wrk run")
    parser.add_argument("--connections", type=int)
    parser.add_argument("--uploads", type=int, help="uploads per phase")
    parser.add_argument("--agents", type=int)
    parser.add_argument("--versions", type=int)
    cli.add_stack_arguments(parser, cli.DATABASE_URL)
    return cli.finish("bench-web", run, parser.parse_args(argv), _table)


if __name__ == "__main__":
    sys.exit(main())
