"""``make bench-gunicorn``: gunicorn configurations side by side on the full stack.

Sync workers against gthread workers, and worker counts, for the mix the web tier serves: the
bare Django ceiling (no database), the cached catalogue list and an agent's detail, the list
when every request misses the cache (the database-bound path), and signed uploads. The stack
is ``make bench-web``'s (``benchmarks/web/stack.py``: its own PostgreSQL database whose name
must contain "bench", dropped and recreated; Redis; gunicorn started as deployed, plus
``--worker-class gthread --threads N`` for the gthread configurations), seeded once.

Rounds are interleaved: in each round every configuration is started afresh, in a different
order, warmed up and driven through every target; the table gives medians of the rounds, each
beside the deployed default's (the Dockerfile's and the ConfigMap's ``--workers 4``, sync).
The score of a configuration is the geometric mean of its req/s ratios to the default over the
targets. JSON with the machine, versions and commit goes to ``--out``.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks.web import __main__ as web
from benchmarks.web import cli, drive
from benchmarks.web.stack import Stack, StackError, fresh_database
from edgeplug.arguments import seconds

# What the Dockerfile, docker-compose.yml and deploy/k8s/base/configmap.yaml run.
DEPLOYED = f"sync:{cli.DEPLOYED_WORKERS}"
CONFIGS = ["sync:2", "sync:4", "sync:8", "gthread:2x4", "gthread:4x2", "gthread:4x4"]
SMOKE_CONFIGS = ["sync:4", "gthread:2x2"]
# A configuration is "as good as the best" within this fraction of the best score: closer than
# that is noise on a shared machine.
TOLERANCE = 0.10


def _sizes(web_sizes: dict, **changes) -> dict:
    """``make bench-web``'s sizes (the catalogue seeded, the wrk load, the uploads) with
    ``changes``; no agent is grown here."""
    return {**{key: value for key, value in web_sizes.items() if key != "grow_to"}, **changes}


# Shorter wrk runs and fewer, smaller uploads than bench-web's: every configuration is
# measured in every round.
FULL = _sizes(web.FULL, duration=10.0, upload_size=256 * 1024, upload_clients=8, uploads=40)
SMOKE = _sizes(web.SMOKE, uploads=4)

# name, path, whose token, cache-busting, label
TARGETS = [
    ("ceiling", "/bench/ceiling", None, False, "bare Django, no DB (the ceiling)"),
    ("list", web.LIST, "customer", False, "GET /api/v1/agents?page_size=20 (cached)"),
    ("detail", "/api/v1/agents/{detail}", "customer", False, "GET /api/v1/agents/{id} (cached)"),
    ("list_uncached", web.LIST, "customer", True, "the list, every request a cache miss"),
]
UPLOAD = "upload"


@dataclass(frozen=True)
class Config:
    worker_class: str
    workers: int
    threads: int = 1

    @classmethod
    def parse(cls, text: str) -> Config:
        """``sync:4`` or ``gthread:2x4`` (workers x threads)."""
        kind, _, size = text.partition(":")
        try:
            if kind == "sync":
                return cls("sync", int(size))
            if kind == "gthread":
                workers, _, threads = size.partition("x")
                return cls("gthread", int(workers), int(threads))
        except ValueError:
            pass
        raise argparse.ArgumentTypeError(f"not a configuration: {text!r} (sync:4, gthread:2x4)")

    @property
    def key(self) -> str:
        if self.worker_class == "sync":
            return f"sync:{self.workers}"
        return f"gthread:{self.workers}x{self.threads}"

    @property
    def label(self) -> str:
        if self.worker_class == "sync":
            return f"sync, {self.workers} workers"
        return f"gthread, {self.workers} workers x {self.threads} threads"

    @property
    def concurrency(self) -> int:
        """Requests served at once per pod, and database connections held (one per thread)."""
        return self.workers * self.threads


def _median_upload(results: list[dict]) -> dict:
    keys = ("per_s", "p50_ms", "p95_ms", "p99_ms")
    median = {k: round(statistics.median(r[k] for r in results), 2) for k in keys}
    for k in ("uploads", "created", "errors"):
        median[k] = sum(r[k] for r in results)
    return median


def _median_cpu(results: list) -> float | None:
    values = [r.cpu_ms_per_request for r in results if r.cpu_ms_per_request is not None]
    return round(statistics.median(values), 2) if values else None


def _scores(configs: dict[str, dict], default: str) -> dict[str, float]:
    """Geometric mean over the targets of each configuration's req/s / the default's."""
    scores = {}
    for key, figures in configs.items():
        ratios = []
        for name, *_ in TARGETS:
            base = configs[default]["reads"][name]["requests_per_s"]
            ratios.append(figures["reads"][name]["requests_per_s"] / base if base else 0.0)
        base = configs[default]["uploads"]["per_s"]
        ratios.append(figures["uploads"]["per_s"] / base if base else 0.0)
        positive = [r for r in ratios if r > 0]
        scores[key] = (
            round(math.exp(sum(map(math.log, positive)) / len(ratios)), 3)
            if len(positive) == len(ratios)
            else 0.0
        )
    return scores


def run(args: argparse.Namespace) -> dict:
    size = cli.chosen_size(args, full=FULL, smoke=SMOKE)
    configs = args.configs or [Config.parse(c) for c in (SMOKE_CONFIGS if args.smoke else CONFIGS)]
    default = Config.parse(DEPLOYED)
    if default not in configs:
        configs = [default, *configs]  # every figure is read beside the deployed default's
    run_root = Path(args.out).resolve().parent / "gunicorn-run"
    # One var directory for every stack: the secret key (and so the tokens) lives there.
    seeder = Stack(args.database_url, args.redis_url, default.workers, run_root)
    rounds: dict[str, dict[str, list]] = {c.key: {n: [] for n, *_ in TARGETS} for c in configs}
    for c in configs:
        rounds[c.key][UPLOAD] = []
    rss: dict[str, list[list[float]]] = {c.key: [] for c in configs}
    with fresh_database(seeder, args) as versions:
        seed = seeder.seed_catalogue(size["agents"], size["versions"])
        tokens = {"customer": seed["customer_token"], "vendor": seed["vendor_token"]}
        order = list(configs)
        runs = 0
        for number in range(size["rounds"]):
            random.Random(number).shuffle(order)  # noqa: S311 - an order, not a secret
            for config in order:
                runs += 1
                _one_configuration(
                    config, runs, args, size, seed, tokens, rounds[config.key], rss[config.key]
                )

    results = {}
    for config in configs:
        figures = rounds[config.key]
        reads = {
            name: {
                **asdict(drive.median_result(figures[name])),
                "cpu_ms_per_request": _median_cpu(figures[name]),
            }
            for name, *_ in TARGETS
        }
        last_rss = rss[config.key][-1] if rss[config.key] else []
        results[config.key] = {
            "label": config.label,
            "worker_class": config.worker_class,
            "workers": config.workers,
            "threads": config.threads,
            "connections_per_pod": config.concurrency,
            "reads": reads,
            "uploads": _median_upload(figures[UPLOAD]),
            "worker_rss_mb": last_rss,
            "worker_rss_total_mb": round(sum(last_rss), 1),
        }
    scores = _scores(results, default.key)
    for key, score in scores.items():
        results[key]["score"] = score
    best = max(scores, key=scores.get)
    default_ok = scores[default.key] >= (1 - TOLERANCE) * scores[best]
    public_seed = {k: v for k, v in seed.items() if not k.endswith(("token", "private_key"))}
    return {
        **cli.provenance(),
        "versions": versions,
        "parameters": {
            **size,
            "smoke": args.smoke,
            "configs": [c.key for c in configs],
            "deployed_default": default.key,
            "tolerance": TOLERANCE,
        },
        "seed": public_seed,
        "configs": results,
        "rounds": {
            key: {
                name: [r if isinstance(r, dict) else asdict(r) for r in runs]
                for name, runs in figures.items()
            }
            for key, figures in rounds.items()
        },
        "best": best,
        "goals": [
            {
                "goal": f"the deployed default ({default.key}) scores ≥ {1 - TOLERANCE:.0%} of "
                f"the best configuration measured ({best}): default / best",
                "value": round(scores[default.key] / scores[best], 3) if scores[best] else None,
                "met": default_ok,
            }
        ],
    }


def _one_configuration(config, number, args, size, seed, tokens, figures, rss) -> None:
    """Start gunicorn as ``config``, warm it up, drive every target once, stop it."""
    run_root = Path(args.out).resolve().parent / "gunicorn-run"
    stack = Stack(
        args.database_url,
        args.redis_url,
        config.workers,
        run_root,
        worker_class=config.worker_class,
        threads=config.threads,
    )
    # A new agent each time, so no run uploads to an agent an earlier one grew.
    warm_up = config.workers
    bodies = drive.signed_uploads(
        size["uploads"] + warm_up,
        size=size["upload_size"],
        signer=drive.Signer.from_seed(seed),
        agent=f"gunicorn-bench-{number}",
        major=1,
    )
    stack.start()
    try:
        paths = {name: path.format(detail=seed["detail_agent_id"]) for name, path, *_ in TARGETS}
        urls = {name: stack.base_url + path for name, path in paths.items()}
        for name, _, who, _, _ in TARGETS:
            status = drive.probe(urls[name], tokens[who] if who else "")
            if status != 200:
                raise StackError(f"{config.key}: {name} answered {status}")

        log = stack.run_dir / "gunicorn.log"

        def drive_target(name, who, bust, duration):
            drive.settle(urls["ceiling"])  # what the last wrk run left queued is worked off
            cpu, offset = stack.cpu_seconds(), log.stat().st_size
            result = drive.wrk(
                urls[name],
                connections=size["connections"],
                duration_s=duration,
                threads=2,
                token=tokens[who] if who else "",
                bust_cache=bust,
            )
            # gunicorn's CPU per request served (its access log counts them: wrk does not count
            # those in flight when it stops, which are still served), after they are served.
            drive.settle(urls["ceiling"])
            spent = stack.cpu_seconds() - cpu
            with log.open("rb") as lines:
                lines.seek(offset)
                served = sum(f'"GET {paths[name]}'.encode() in line for line in lines)
            result.cpu_ms_per_request = round(spent * 1000 / served, 2) if served else None
            return result

        for name, _, who, bust, _ in TARGETS:  # imports, connections, the cache
            drive_target(name, who, bust, min(2.0, size["duration"]))
        drive.run_uploads(stack.port, tokens["vendor"], bodies[:warm_up], size["upload_clients"])
        order = list(TARGETS)
        random.Random(number).shuffle(order)  # noqa: S311 - an order, not a secret
        for name, _, who, bust, _ in order:
            result = drive_target(name, who, bust, size["duration"])
            figures[name].append(result)
            print(
                f"run {number} {config.key:<12} {name:<14} {result.requests_per_s:>8,.0f} req/s  "
                f"p50 {result.p50_ms:7.1f} ms  p99 {result.p99_ms:7.1f} ms  errors {result.errors}",
                flush=True,
            )
        drive.settle(urls["ceiling"])
        clients = size["upload_clients"]
        upload = asdict(drive.run_uploads(stack.port, tokens["vendor"], bodies[warm_up:], clients))
        figures[UPLOAD].append(upload)
        print(
            f"run {number} {config.key:<12} {UPLOAD:<14} {upload['per_s']:>8} /s     "
            f"p50 {upload['p50_ms']:7.1f} ms  p95 {upload['p95_ms']:7.1f} ms  "
            f"errors {upload['errors']}",
            flush=True,
        )
        rss.append(stack.worker_rss_mb())
    finally:
        stack.stop()


def table(result: dict) -> str:
    p = result["parameters"]
    configs, default = result["configs"], p["deployed_default"]
    lines = [
        cli.title(
            result,
            "gunicorn configurations",
            f"wrk -t2 -c{p['connections']} -d{p['duration']:g}s per target, uploads of "
            f"{p['upload_size'] // 1024} KiB by {p['upload_clients']} clients, medians of "
            f"{p['rounds']} interleaved rounds; deployed default {default}",
            smoke=p["smoke"],
        ),
        "",
        "| target | configuration | req/s | p50 ms | p99 ms | errors | vs default "
        "| gunicorn CPU ms per request |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, _, _, _, label in TARGETS:
        base = configs[default]["reads"][name]["requests_per_s"]
        for key, c in configs.items():
            row = c["reads"][name]
            ratio = f"{row['requests_per_s'] / base:.2f}x" if base else "?"
            mark = " (deployed)" if key == default else ""
            cpu = row.get("cpu_ms_per_request")
            lines.append(
                f"| {label} | {key}{mark} | {row['requests_per_s']:,.0f} | {row['p50_ms']:.1f} | "
                f"{row['p99_ms']:.1f} | {row['errors']} | {ratio} | "
                f"{'?' if cpu is None else f'{cpu:.2f}'} |"
            )
    base = configs[default]["uploads"]["per_s"]
    for key, c in configs.items():
        u = c["uploads"]
        ratio = f"{u['per_s'] / base:.2f}x" if base else "?"
        mark = " (deployed)" if key == default else ""
        lines.append(
            f"| upload (p95 {u['p95_ms']:.1f} ms) | {key}{mark} | {u['per_s']:,.1f} | "
            f"{u['p50_ms']:.1f} | {u['p99_ms']:.1f} | {u['errors']} | {ratio} | |"
        )
    lines += [
        "",
        "| configuration | score (geometric mean of req/s vs default) | requests at once "
        "= DB connections per pod | worker RSS total MB |",
        "|---|---|---|---|",
    ]
    for key, c in sorted(configs.items(), key=lambda kv: -kv[1]["score"]):
        mark = " (deployed)" if key == default else ""
        lines.append(
            f"| {key}{mark} | {c['score']:.2f} | {c['connections_per_pod']} | "
            f"{c['worker_rss_total_mb']:.0f} |"
        )
    goal = result["goals"][0]
    lines += [
        "",
        f"Best measured: {result['best']} (score {configs[result['best']]['score']:.2f}).",
        f"{goal['goal']} = {goal['value']}: {'met' if goal['met'] else 'NOT met'}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = cli.bench_parser(
        "gunicorn_matrix", __doc__, smoke="two configurations, seconds; for CI"
    )
    parser.set_defaults(out="var/bench/gunicorn.json")
    parser.add_argument(
        "--configs",
        type=lambda text: [Config.parse(c) for c in text.split(",") if c],
        help=f"comma-separated, e.g. sync:2,gthread:2x4 (default {','.join(CONFIGS)}); "
        f"the deployed default {DEPLOYED} is always measured",
    )
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--duration", type=seconds(above_zero=True), help="seconds per wrk run")
    parser.add_argument("--connections", type=int)
    parser.add_argument("--uploads", type=int, help="uploads per configuration and round")
    cli.add_stack_arguments(parser, cli.DATABASE_URL)
    return cli.finish("bench-gunicorn", run, parser.parse_args(argv), table)


if __name__ == "__main__":
    sys.exit(main())
