"""CPU per batch of 1,000 usage events, in process: the load-independent measure behind
``make bench-ingest``.

On a shared machine events/s moves with everyone else's load; the CPU time a batch costs does
not (much). This makes its own database (``BENCH_INGEST_DATABASE_URL``, dropped and recreated;
the name must contain "bench"), migrates it, seeds it as the ingest benchmark does (a certified
agent, devices registered and deployed through the real actions), then in this process sends
batches of 1,000 session events, in order, as a device reports them:

- ``rest``: ``POST /api/v1/usage/events`` through Django's test client (every middleware, DRF,
  the device token, the throttle, the parser and the response);
- ``grpc``: ``UsageServicer.Report`` called with a stream of the batches (what
  ``manage.py grpcserver`` runs for a call, without the network);

``--batches`` new batches, then the same batches again (``resend``: all duplicates), in
``--rounds`` interleaved rounds, each door on its own device. For each, per batch: the Python
CPU of this process (``time.process_time``), the PostgreSQL backend's CPU (utime + stime from
``/proc/<pid>/stat``: the server must run on this machine; its clock ticks are 10 ms, so it
is the mean over the round), the wall time, and the queries. For ``grpc`` the backend CPU
covers the batches only (read from inside the request stream), the Python CPU the whole call
(the ``last_seen_at`` update is paid once per stream; the token is looked up again for each
batch, as REST does per request). Prints each round, then the median of the rounds with its
range. ``--profile rest|grpc`` prints cProfile's top functions for one round of new batches of
that door instead.

    BENCH_INGEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/edgeplug_ingest_bench_cpu \\
        python -m benchmarks.ingest.cpu [--batches 10] [--rounds 3] [--profile rest]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import statistics
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.ingest.__main__ import BATCH, DATABASE_URL, _batches, _sessions, _to_proto
from benchmarks.web.cli import add_stack_arguments
from benchmarks.web.inprocess import measured, print_profile, recorded_queries
from benchmarks.web.stack import (
    Stack,
    cpu_seconds,
    drop_database,
    recreate_database,
)

PATHS = ("rest new", "rest resend", "grpc new", "grpc resend")
_HISTORY = timedelta(days=3)  # how far back a device's sessions start


def _backend_cpu(pid: int) -> float:
    """CPU seconds (user + system) of the PostgreSQL backend ``pid`` so far."""
    return cpu_seconds([pid])


def _backend_pid() -> int:
    from django.db import connection

    connection.ensure_connection()
    return connection.connection.info.backend_pid


class _Context:
    """The part of ``grpc.ServicerContext`` the usage servicer uses."""

    def __init__(self, token: str) -> None:
        self._metadata = (("authorization", f"Device {token}"),)

    def invocation_metadata(self):
        return self._metadata

    def peer(self) -> str:
        return "ipv4:127.0.0.1:0"

    def set_trailing_metadata(self, metadata) -> None:
        pass

    def abort(self, code, details):
        raise SystemExit(f"gRPC call aborted: {code} {details}")

    def abort_with_status(self, status):
        raise SystemExit(f"gRPC call aborted: {status}")


class Doors:
    def __init__(self, seed: dict) -> None:
        from django.test import Client

        self.client = Client(HTTP_HOST="127.0.0.1")
        self.agent, self.version = seed["agent"], seed["version"]
        self.tokens = {"rest": seed["tokens"][0], "grpc": seed["tokens"][1]}
        self.next_seq = {"rest": 1, "grpc": 1}
        # Sessions two seconds apart from three days ago: room for 129,600 events per device.
        self.start = datetime.now(UTC).replace(microsecond=0) - _HISTORY

    def new_batches(self, door: str, count: int) -> list[list[dict]]:
        first = self.next_seq[door]
        self.next_seq[door] += count * BATCH
        at = self.start + timedelta(seconds=2 * (first - 1))
        return _batches(_sessions(first, count * BATCH, self.agent, self.version, at))

    def send(self, door: str, batches: list[list[dict]]) -> tuple[float, float, float, int, int]:
        """Send the batches; (Python CPU s, backend CPU s, wall s, queries, accepted)."""
        if door == "rest":
            bodies = [json.dumps({"events": batch}).encode() for batch in batches]
            pid = _backend_pid()
            backend = _backend_cpu(pid)
            with recorded_queries() as queries, measured(None) as spent:
                accepted = sum(self._post(body) for body in bodies)
            return spent.cpu_s, _backend_cpu(pid) - backend, spent.wall_s, len(queries), accepted
        requests = [_to_proto(batch) for batch in batches]
        used = []
        with recorded_queries() as queries, measured(None) as spent:
            summary = self._report(requests, used)
        return spent.cpu_s, used[0], spent.wall_s, len(queries), summary.totals.accepted

    def _post(self, body: bytes) -> int:
        response = self.client.post(
            "/api/v1/usage/events",
            data=body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Device {self.tokens['rest']}",
        )
        if response.status_code != 200:
            raise SystemExit(f"REST answered {response.status_code}: {response.content[:300]!r}")
        return response.json()["totals"]["accepted"]

    def _report(self, requests: list, used: list):
        """One ``Report`` call; the backend CPU its batches used goes into ``used`` (read inside
        the stream: the call closes its connection when it ends), that of the connection of
        this thread, which the servicer runs on (the stream is read on a thread of its own)."""
        from django.db import connections

        from billing.grpc_usage import UsageServicer

        servicer_db = connections["default"]

        def stream():
            pid = servicer_db.connection.info.backend_pid  # connected: the token was looked up
            backend = _backend_cpu(pid)
            yield from requests
            used.append(_backend_cpu(pid) - backend)

        return UsageServicer().Report(stream(), _Context(self.tokens["grpc"]))


def _setup(database_url: str, redis_url: str, keep: bool, template: str | None) -> dict:
    """The database made anew and seeded, Django set up on it in this process; the seed."""
    stack = Stack(database_url, redis_url, 1, Path("var/bench/ingest-cpu-run"))
    env = stack.environment()
    recreate_database(database_url, template)
    try:
        if not template:
            stack.manage("migrate", "--noinput", "-v0")
        seed = json.loads(stack._python("-m", "benchmarks.ingest.seed", "--devices", "2"))
    except BaseException:
        if not keep:
            drop_database(database_url)
        raise
    os.environ.clear()
    os.environ.update(env)
    import django

    django.setup()
    return seed


def _measure(doors: Doors, batches: int, rounds: int) -> dict[str, list[tuple]]:
    results: dict[str, list[tuple]] = {path: [] for path in PATHS}
    header = f"{'path':<12} {'Python ms':>9} {'PG ms':>6} {'wall ms':>8} {'queries':>8}"
    for number in range(1, rounds + 1):
        print(f"round {number}\n{header}", flush=True)
        for door in ("rest", "grpc"):
            sent = doors.new_batches(door, batches)
            for path, expect in ((f"{door} new", batches * BATCH), (f"{door} resend", 0)):
                cpu, backend, wall, queries, accepted = doors.send(door, sent)
                if accepted != expect:
                    raise SystemExit(f"{path}: {accepted} accepted, expected {expect}")
                row = (cpu * 1000 / batches, backend * 1000 / batches, wall * 1000 / batches)
                row = (*row, queries / batches)
                results[path].append(row)
                print(f"{path:<12} {row[0]:>9.1f} {row[1]:>6.0f} {row[2]:>8.1f} {row[3]:>8.1f}")
    return results


def _summary(results: dict[str, list[tuple]]) -> str:
    def cell(values: list[float], digits: int) -> str:
        low, high = min(values), max(values)
        return f"{statistics.median(values):.{digits}f} ({low:.{digits}f}-{high:.{digits}f})"

    lines = [
        "| path | Python CPU ms/batch | PostgreSQL CPU ms/batch | wall ms/batch | queries/batch |",
        "|---|---|---|---|---|",
    ]
    for path, rows in results.items():
        columns = list(zip(*rows, strict=True))
        lines.append(
            f"| {path} | {cell(columns[0], 1)} | {cell(columns[1], 0)} | {cell(columns[2], 1)} "
            f"| {statistics.median(columns[3]):.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ingest.cpu", description=__doc__)
    parser.add_argument("--batches", type=int, default=10, help="batches of 1,000 per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", choices=("rest", "grpc"), help="cProfile one door instead")
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--top", type=int, default=40)
    add_stack_arguments(parser, DATABASE_URL)
    args = parser.parse_args(argv)
    if (args.rounds * args.batches + 1) * BATCH * 2 > _HISTORY.total_seconds():
        parser.error(f"more events than fit in the {_HISTORY} of sessions a device is given")
    seed = _setup(args.database_url, args.redis_url, args.keep_database, args.template_database)
    try:
        doors = Doors(seed)
        for door in ("rest", "grpc"):  # warm: imports, the connection, caches
            doors.send(door, doors.new_batches(door, 1))
        if args.profile:
            sent = doors.new_batches(args.profile, args.batches)
            profiler = cProfile.Profile()
            profiler.enable()
            doors.send(args.profile, sent)
            profiler.disable()
            print_profile(profiler, sort=args.sort, top=args.top)
            return 0
        print(f"median (range) of {args.rounds} rounds of {args.batches} batches of {BATCH:,}")
        print(_summary(_measure(doors, args.batches, args.rounds)))
        print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep_database:
            drop_database(args.database_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
