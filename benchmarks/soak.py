"""``make soak DURATION=10m``: mixed traffic at a fixed rate on the full stack, for a long time.

Starts the stack as ``make bench-web`` does (gunicorn as deployed, its own PostgreSQL database
whose name must contain "bench", Redis) plus one real Celery worker, seeds a catalogue, a
customer's device and a vendor, then sends an open-loop mix at ``--rate`` requests per second
(or ``--fraction`` of the maximum it measures first with closed-loop clients sending the same
mix, certification included, so that the rate is one the machine sustains):

- browse: the catalogue list, an agent's detail, a search;
- ingest: a device's batch of usage sessions (``POST /api/v1/usage/events``);
- upload: a new signed package version;
- certification: a signed package of the sample model uploaded with ``certify=true`` every
  ``--cert-interval`` seconds, each run followed until it finishes.

It reports errors (goal 0), p50/p99 per ``--window`` (30 s) window, and the RSS of every
gunicorn and Celery process over time with its growth after the first window (goal < 10 %).
Latency is measured from when a request was due, so a stalled server shows up as latency
rather than as fewer requests. Not run in CI; ``--smoke`` runs it for about 10 s.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import json
import os
import random
import statistics
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.web import cli, drive
from benchmarks.web.stack import Stack, StackError, fresh_database
from certification.tflm import sample_models
from certification.vocabulary import FINISHED_RUN_STATUSES
from edgeplug import signing
from edgeplug.arguments import seconds
from edgeplug.timefmt import utc_iso
from tests.packageformat.builders import make_manifest, make_package

DATABASE_URL = cli.UrlOption(
    "SOAK_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/edgeplug_soak_bench"
)
REDIS_URL = cli.UrlOption("SOAK_REDIS_URL", "redis://127.0.0.1:6379/14")
# Shares of the open-loop rate (certification has its own fixed interval).
MIX = {"browse": 0.70, "ingest": 0.20, "upload": 0.10}
BATCH = 20  # usage sessions per ingest request
UPLOAD_SIZE = 64 * 1024
RSS_GOAL = 0.10


@dataclass
class Sample:
    due: float  # seconds since the traffic started
    kind: str
    latency_ms: float
    ok: bool
    detail: str = ""


class Traffic:
    """What each kind of request sends, with the seeded identities."""

    def __init__(self, client: drive.Client, seed: dict, device_token: str):
        self.client = client
        self.seed = seed
        self.customer = {"Authorization": f"Bearer {seed['customer_token']}"}
        self.vendor = {"Authorization": f"Bearer {seed['vendor_token']}"}
        self.device = {
            "Authorization": f"Device {device_token}",
            "Content-Type": "application/json",
        }
        self.key = signing.decode_private_key(seed["private_key"])
        # Bought just now (``_setup_device``): usage from before it is not entitled.
        self.bought = datetime.now(UTC)
        self.seq = itertools.count(1)
        self.versions = itertools.count(1)
        self.rng = random.Random(16)  # noqa: S311 - a traffic mix, not a secret
        self.lock = threading.Lock()
        self.runs: list[int] = []

    def browse(self) -> str:
        with self.lock:
            pick = self.rng.randrange(3)
        path = (
            "/api/v1/agents?page_size=20",
            f"/api/v1/agents/{self.seed['detail_agent_id']}",
            "/api/v1/agents?page_size=20&q=anomoly",
        )[pick]
        status, _ = self.client.request("GET", path, headers=self.customer)
        return "" if status == 200 else f"browse {status}"

    def ingest(self) -> str:
        free = self.seed["free_agent"]
        now = datetime.now(UTC)
        events = []
        for _ in range(BATCH):
            seq = next(self.seq)
            start = max(now - timedelta(minutes=30, seconds=seq % 600), self.bought)
            events.append(
                {
                    "seq": seq,
                    "kind": "session",
                    "agent": free["agent_id"],
                    "version": free["version"],
                    "started_at": utc_iso(start),
                    "ended_at": utc_iso(start + timedelta(seconds=20)),
                }
            )
        body = json.dumps({"events": events}).encode()
        status, reply = self.client.request(
            "POST", "/api/v1/usage/events", body=body, headers=self.device
        )
        if status != 200:
            return f"ingest {status}"
        totals = json.loads(reply)["totals"]
        return "" if totals["accepted"] == BATCH else f"ingest {totals}"

    def _upload(self, data: bytes, **fields: str) -> tuple[int, bytes]:
        signature = signing.encode_b64(signing.sign_package(self.key, data))
        upload = drive._multipart(
            {"signature": signature, "key_id": self.seed["key_id"], **fields}, data
        )
        headers = {**self.vendor, "Content-Type": upload.content_type}
        return self.client.request(
            "POST", "/api/v1/agents/upload", body=upload.body, headers=headers
        )

    def upload(self) -> str:
        version = f"5.{next(self.versions)}.0"
        manifest = make_manifest(
            name="soak-upload", vendor=self.seed["vendor_slug"], version=version
        )
        model = b"\x1c\x00\x00\x00TFL3" + os.urandom(UPLOAD_SIZE - 8)
        status, _ = self._upload(make_package(manifest, model_bytes=model))
        return "" if status == 201 else f"upload {status}"

    def certify(self) -> str:
        sample = sample_models.sensor_classifier()
        manifest = make_manifest(
            name="soak-certified",
            vendor=self.seed["vendor_slug"],
            version=f"1.{next(self.versions)}.0",
            model=sample.manifest_model(),
            invariants=list(sample.invariants),
            limits={"inference_time_us": 400, "model_size_kb": 64, "arena_kb": 16},
        )
        data = make_package(manifest, model_bytes=sample.tflite)
        status, reply = self._upload(data, certify="true", level="basic")
        if status != 201:
            return f"certify {status}"
        with self.lock:
            self.runs.append(json.loads(reply)["certification_run"])
        return ""


def _timed(kind: str, action, due: float, started_at: float) -> Sample:
    try:
        detail = action()
    except (OSError, http.client.HTTPException) as exc:
        detail = f"{kind} {type(exc).__name__}"
    latency = (time.monotonic() - started_at - due) * 1000
    return Sample(due, kind, round(latency, 2), not detail, detail)


def measure_max_rate(
    traffic: Traffic, seconds: float, cert_interval: float, clients: int = 16
) -> tuple[float, int]:
    """Closed loop, with the load the soak adds: ``clients`` send the mix back to back while
    a certification is submitted every ``cert_interval`` seconds, as the soak submits them (the
    worker's stages share the machine with the web tier). Returns the mix requests completed
    per second (certification submissions are not counted: the soak sends them on their own
    schedule, on top of the rate) and the certifications submitted."""
    started = time.monotonic()
    deadline = started + seconds
    done = Counter()
    kinds = list(MIX)
    weights = [MIX[k] for k in kinds]

    def loop(n: int) -> None:
        rng = random.Random(n)  # noqa: S311 - a traffic mix, not a secret
        while time.monotonic() < deadline:
            kind = rng.choices(kinds, weights)[0]
            with contextlib.suppress(OSError, http.client.HTTPException):
                getattr(traffic, kind)()
            done[n] += 1

    def certify() -> int:
        submitted = 0
        while (due := started + submitted * cert_interval) < deadline:
            time.sleep(max(0.0, due - time.monotonic()))
            with contextlib.suppress(OSError, http.client.HTTPException):
                traffic.certify()
            submitted += 1
        return submitted

    with ThreadPoolExecutor(clients + 1) as pool:
        certifications = pool.submit(certify)
        list(pool.map(loop, range(clients)))
        submitted = certifications.result()
    return sum(done.values()) / (time.monotonic() - started), submitted


def run_open_loop(
    traffic: Traffic, rate: float, duration: float, cert_interval: float, sampler
) -> list[Sample]:
    """Send the mix at ``rate`` per second for ``duration`` seconds, whatever the answers."""
    rng = random.Random(42)  # noqa: S311 - a traffic mix, not a secret
    kinds = list(MIX)
    weights = [MIX[k] for k in kinds]
    futures = []
    certs = 0
    started = time.monotonic()
    # Enough threads that a slow answer delays no later request's start.
    with ThreadPoolExecutor(max(8, min(256, int(rate * 4)))) as pool:
        for n in itertools.count():
            due = n / rate
            if due >= duration:
                break
            kind = rng.choices(kinds, weights)[0]
            futures.append(pool.submit(_timed, kind, getattr(traffic, kind), due, started))
            if certs * cert_interval <= due:
                cert_due = certs * cert_interval
                futures.append(pool.submit(_timed, "certify", traffic.certify, cert_due, started))
                certs += 1
            sampler.maybe_sample(time.monotonic() - started)
            pause = started + (n + 1) / rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
    return [f.result() for f in futures]


class RssSampler:
    """RSS of every gunicorn and Celery process, every few seconds, by pid."""

    def __init__(self, roots: dict[str, int], every: float):
        self.roots = roots
        self.every = every
        self.next_at = 0.0
        self.series: dict[str, list[tuple[float, float]]] = {}

    def maybe_sample(self, at: float) -> None:
        if at < self.next_at:
            return
        self.next_at = at + self.every
        for label, pid in self.roots.items():
            for name, proc in [(label, pid)] + [
                (f"{label} child {child}", child) for child in _children(pid)
            ]:
                rss = _rss_mb(proc)
                if rss is not None:
                    self.series.setdefault(name, []).append((round(at, 1), rss))

    def growth(self, baseline_after: float) -> list[dict]:
        rows = []
        for name, points in sorted(self.series.items()):
            later = [p for p in points if p[0] >= baseline_after] or points
            first, last = later[0][1], points[-1][1]
            rows.append(
                {
                    "process": name,
                    "rss_start_mb": points[0][1],
                    "rss_baseline_mb": first,
                    "rss_end_mb": last,
                    "growth": round((last - first) / first, 3) if first else None,
                    "samples": len(points),
                }
            )
        return rows


def _children(pid: int) -> list[int]:
    """Children of any thread of ``pid`` (Celery's pool forks from a thread of its own)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return sorted(set(found))


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))]


def windows(samples: list[Sample], size: float) -> list[dict]:
    rows = []
    last = max((s.due for s in samples), default=0)
    for start in range(0, int(last // size) + 1):
        inside = [s for s in samples if start * size <= s.due < (start + 1) * size]
        if not inside:
            continue
        latencies = [s.latency_ms for s in inside]
        rows.append(
            {
                "from_s": start * size,
                "requests": len(inside),
                "errors": sum(1 for s in inside if not s.ok),
                "p50_ms": round(statistics.median(latencies), 1),
                "p99_ms": round(_percentile(latencies, 0.99), 1),
                "p99_by_kind_ms": {
                    kind: round(
                        _percentile([s.latency_ms for s in inside if s.kind == kind], 0.99), 1
                    )
                    for kind in sorted({s.kind for s in inside})
                },
            }
        )
    return rows


def follow_runs(client: drive.Client, token: str, runs: list[int], timeout: float) -> dict:
    """Wait (bounded) for every submitted certification run; their outcomes."""
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + timeout
    outcomes: dict[int, str] = {}
    while time.monotonic() < deadline and len(outcomes) < len(runs):
        for run in runs:
            if run in outcomes:
                continue
            status, body = client.request("GET", f"/api/v1/certification/{run}", headers=headers)
            state = json.loads(body)["status"] if status == 200 else f"http {status}"
            if state in FINISHED_RUN_STATUSES or state.startswith("http"):
                outcomes[run] = state
        time.sleep(1)
    return {
        "submitted": len(runs),
        "outcomes": dict(Counter(outcomes.values())),
        "unfinished": len(runs) - len(outcomes),
    }


def _setup_device(client: drive.Client, seed: dict) -> str:
    """What a customer does: buy the free agent, register a device, deploy the agent to it."""
    headers = {
        "Authorization": f"Bearer {seed['customer_token']}",
        "Content-Type": "application/json",
    }
    free = seed["free_agent"]
    steps = [
        (
            "/api/v1/orders",
            {"agent": free["agent_id"], "plan": free["plan_id"], "seats": 1},
            {"Idempotency-Key": "soak"},
        ),
        ("/api/v1/devices", {"name": "soak", "hardware_id": "soak-1", "core": "cortex-m4"}, {}),
    ]
    replies = []
    for path, body, extra in steps:
        status, reply = client.request(
            "POST", path, body=json.dumps(body).encode(), headers={**headers, **extra}
        )
        if status != 201:
            raise StackError(f"soak setup: POST {path} answered {status}: {reply[:300]!r}")
        replies.append(json.loads(reply))
    device = replies[-1]
    status, reply = client.request(
        "POST",
        f"/api/v1/devices/{device['device']['id']}/deployments",
        body=json.dumps({"agent": free["agent_id"], "version": free["version"]}).encode(),
        headers=headers,
    )
    if status != 201:
        raise StackError(f"soak setup: deployment answered {status}: {reply[:300]!r}")
    return device["token"]


def parse_duration(text: str) -> float:
    """An ``argparse`` type: seconds, or minutes or hours (``90s``, ``10m``, ``1h``)."""
    units = {"s": 1, "m": 60, "h": 3600}
    number, unit = (text[:-1], units[text[-1]]) if text[-1:] in units else (text, 1)
    try:
        return seconds(above_zero=True)(number) * unit
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a duration above 0 (such as 90s, 10m or 1h)"
        ) from None


def run(args: argparse.Namespace) -> dict:
    duration = 10.0 if args.smoke else args.duration
    window = 5.0 if args.smoke else args.window
    run_dir = Path(args.out).resolve().parent / "soak-run"
    stack = Stack(args.database_url, args.redis_url, args.workers, run_dir)
    worker_args = ("--concurrency", "2", "--without-gossip", "--without-mingle")
    with fresh_database(stack, args) as versions:
        seed = stack.seed_catalogue(12, 16)
        stack.start()
        with stack.celery_worker(*worker_args) as worker:
            client = drive.Client(stack.port)
            traffic = Traffic(client, seed, _setup_device(client, seed))
            # Warm-up, and a check that every kind works before measuring: the worker imports its
            # stages on the first run, which must pass.
            for kind in (*MIX, "certify"):
                problem = getattr(traffic, kind)()
                if problem:
                    raise StackError(f"soak warm-up: {problem}")
            warm_up = follow_runs(client, seed["vendor_token"], traffic.runs, 600)
            if warm_up["outcomes"] != {"passed": 1}:
                raise StackError(f"soak warm-up: the certification run ended {warm_up}")
            traffic.runs.clear()
            calibrated = None
            if args.rate:
                rate = args.rate
            else:
                calibrating = 3.0 if args.smoke else args.calibrate
                calibrated, _ = measure_max_rate(traffic, calibrating, args.cert_interval)
                rate = max(1.0, round(calibrated * args.fraction, 1))
            with traffic.lock:  # the calibration's runs are followed apart from the soak's
                calibration_runs, traffic.runs = traffic.runs, []
            print(
                f"soak: {rate} req/s for {duration:g} s"
                + (
                    f" ({args.fraction:.0%} of a measured {calibrated:.1f} req/s)"
                    if calibrated
                    else ""
                ),
                flush=True,
            )
            sampler = RssSampler(
                {"gunicorn": stack.process.pid, "celery": worker.pid},
                every=1.0 if args.smoke else 5.0,
            )
            sampler.maybe_sample(0.0)
            samples = run_open_loop(traffic, rate, duration, args.cert_interval, sampler)
            sampler.next_at = 0.0
            sampler.maybe_sample(duration)
            certification = follow_runs(
                client, seed["vendor_token"], traffic.runs, 180 if args.smoke else 600
            )
            calibration_certification = follow_runs(
                client, seed["vendor_token"], calibration_runs, 60 if args.smoke else 300
            )

    by_kind = {}
    for kind in sorted({s.kind for s in samples}):
        mine = [s for s in samples if s.kind == kind]
        by_kind[kind] = {
            "requests": len(mine),
            "errors": sum(1 for s in mine if not s.ok),
            "p50_ms": round(statistics.median(s.latency_ms for s in mine), 1),
            "p99_ms": round(_percentile([s.latency_ms for s in mine], 0.99), 1),
        }
    errors = Counter(s.detail for s in samples if not s.ok)
    rss = sampler.growth(baseline_after=min(window, duration / 2))
    cert_errors = sum(
        c["unfinished"] + sum(n for state, n in c["outcomes"].items() if state != "passed")
        for c in (certification, calibration_certification)
    )
    return {
        **cli.provenance(),
        "versions": versions,
        "parameters": {
            "duration_s": duration,
            "rate_per_s": rate,
            "measured_max_per_s": round(calibrated, 1) if calibrated else None,
            "fraction": args.fraction if calibrated else None,
            "mix": MIX,
            "cert_interval_s": args.cert_interval,
            "calibrated_with_certification": bool(calibrated),
            "window_s": window,
            "workers": args.workers,
            "smoke": args.smoke,
        },
        "requests": len(samples),
        "errors": sum(errors.values()),
        "error_kinds": dict(errors),
        "by_kind": by_kind,
        "windows": windows(samples, window),
        "certification": certification,
        "calibration_certification": calibration_certification,
        "rss": rss,
        "goals": [
            {
                "goal": "0 errors",
                "value": sum(errors.values()) + cert_errors,
                "met": not errors and not cert_errors,
            },
            {
                "goal": f"RSS growth < {RSS_GOAL:.0%} per process",
                "value": max((r["growth"] or 0) for r in rss) if rss else None,
                "met": bool(rss) and all((r["growth"] or 0) < RSS_GOAL for r in rss),
            },
        ],
    }


def table(result: dict) -> str:
    p = result["parameters"]
    setup = (
        f"gunicorn {p['workers']} sync workers + 1 Celery worker (concurrency 2); "
        f"{p['rate_per_s']} req/s open loop for {p['duration_s']:g} s"
    )
    if p["fraction"]:
        setup += f" ({p['fraction']:.0%} of a measured {p['measured_max_per_s']} req/s)"
    lines = [
        cli.title(result, "soak", setup, smoke=p["smoke"]),
        "",
        "| kind | requests | errors | p50 ms | p99 ms |",
        "|---|---|---|---|---|",
    ]
    for kind, row in result["by_kind"].items():
        lines.append(
            f"| {kind} | {row['requests']} | {row['errors']} | {row['p50_ms']} | {row['p99_ms']} |"
        )
    lines += [
        "",
        f"p99 over time ({p['window_s']:g} s windows):",
        "",
        "| from s | requests | errors | p50 ms | p99 ms |",
        "|---|---|---|---|---|",
    ]
    for w in result["windows"]:
        lines.append(
            f"| {w['from_s']:g} | {w['requests']} | {w['errors']} | {w['p50_ms']} | {w['p99_ms']} |"
        )
    lines += [
        "",
        "| process | RSS start MB | after first window | end MB | growth |",
        "|---|---|---|---|---|",
    ]
    for r in result["rss"]:
        growth = f"{r['growth']:+.1%}" if r["growth"] is not None else "?"
        lines.append(
            f"| {r['process']} | {r['rss_start_mb']} | {r['rss_baseline_mb']} | "
            f"{r['rss_end_mb']} | {growth} |"
        )
    c, cc = result["certification"], result["calibration_certification"]
    lines += [
        "",
        f"Certification runs: {c['submitted']} submitted, outcomes {c['outcomes']}, "
        f"{c['unfinished']} unfinished",
        f"Calibration's certification runs: {cc['submitted']} submitted, outcomes "
        f"{cc['outcomes']}, {cc['unfinished']} unfinished",
        f"Errors: {result['errors']} {result['error_kinds'] or ''}",
        "",
    ]
    for goal in result["goals"]:
        lines.append(f"{goal['goal']}: {goal['value']} — {'met' if goal['met'] else 'NOT met'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = cli.bench_parser("soak", __doc__, smoke="about 10 s of traffic; for CI")
    parser.add_argument(
        "--duration", type=parse_duration, default="10m", help="10m, 90s, 1h (default 10m)"
    )
    parser.add_argument(
        "--rate",
        type=float,
        help="requests per second; default: --fraction of the measured maximum",
    )
    parser.add_argument("--fraction", type=float, default=0.8, help="of the measured maximum (0.8)")
    parser.add_argument(
        "--calibrate",
        type=seconds(above_zero=True),
        default=30.0,
        help="seconds measuring the maximum, certification submitted every --cert-interval"
        " meanwhile (30: two submissions at the default interval)",
    )
    parser.add_argument(
        "--cert-interval",
        type=seconds(above_zero=True),
        default=15.0,
        help="seconds between certification submissions",
    )
    parser.add_argument(
        "--window", type=seconds(above_zero=True), default=30.0, help="seconds per p99 window"
    )
    cli.add_workers_argument(parser)
    cli.add_stack_arguments(parser, DATABASE_URL, REDIS_URL)
    return cli.finish("soak", run, parser.parse_args(argv), table)


if __name__ == "__main__":
    sys.exit(main())
