"""``make bench-ingest``: usage events accepted per second over REST (batches of 1,000) and
gRPC (client-streaming ``Report``), then the same events sent again (rows added: must be 0).

Runs the full stack as deployed: gunicorn (``benchmarks.web.stack``) and ``manage.py
grpcserver`` against its own PostgreSQL database (``BENCH_INGEST_DATABASE_URL``, dropped and
recreated; the name must contain "bench") and Redis (``BENCH_REDIS_URL``). Events are
sessions (the heaviest kind: they update the hourly rollup) from several devices at once, one
client thread per device (one device's batches are serialised by its row lock, so one device
alone measures one lock). Prints the figures beside the goals of issue 13 and writes JSON to
``--out``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.web import cli
from benchmarks.web.stack import (
    ROOT,
    Stack,
    StackError,
    children,
    cpu_by_part,
    cpu_seconds,
    free_port,
    fresh_database,
)

# Its own default database, so it never drops bench-web's under a concurrent run.
DATABASE_URL = cli.UrlOption(
    "BENCH_INGEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/edgeplug_ingest_bench"
)
GOALS = {"rest": 20_000, "grpc": 50_000}  # events/s accepted, issue 13
BATCH = 1000
# grpc_processes: manage.py grpcserver --processes: the machine's cores, as docs/metering.md
# advises for a server with a machine of its own (docker compose runs 2).
FULL = {
    "events": 100_000,
    "devices": 4,
    "workers": 4,
    "grpc_processes": len(os.sched_getaffinity(0)),
}
SMOKE = {"events": 4_000, "devices": 2, "workers": 2, "grpc_processes": 2}


class IngestStack(Stack):
    """The web stack (every throttle raised, the devices' too) and the gRPC server started as
    ``make run`` starts it."""

    grpc_process: subprocess.Popen | None = None
    grpc_port: int = 0

    def start_grpc(self, processes: int, streams: int) -> None:
        """``streams``: the devices streaming at once, each process able to take them all (the
        kernel need not spread the connections evenly); the benchmark watches no run."""
        import grpc
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        self.grpc_port = free_port()
        log = open(self.run_dir / "grpcserver.log", "wb")  # noqa: SIM115 - closed with it
        self.grpc_process = subprocess.Popen(
            [
                *(sys.executable, "manage.py", "grpcserver"),
                *("--address", f"127.0.0.1:{self.grpc_port}", "--processes", str(processes)),
            ],
            cwd=ROOT,
            env={
                **self.environment(),
                "GRPC_MAX_WATCHES": "0",
                "GRPC_MAX_REPORT_STREAMS": str(streams),
                "GRPC_MAX_REPORT_STREAMS_PER_TENANT": str(streams),  # one tenant's devices
                # The default threads, and some left for batches and the health check.
                "GRPC_MAX_WORKERS": str(max(8, streams + 2)),
            },
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        with grpc.insecure_channel(f"127.0.0.1:{self.grpc_port}") as channel:
            try:
                health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(), wait_for_ready=True, timeout=60
                )
            except grpc.RpcError as exc:
                raise StackError(f"grpcserver did not start; see {self.run_dir}") from exc

    def grpc_pids(self) -> list[int]:
        """The command's process and its server processes (``--processes``)."""
        if self.grpc_process is None:
            return []
        return [self.grpc_process.pid, *children(self.grpc_process.pid)]

    def stop(self) -> None:
        if self.grpc_process is not None and self.grpc_process.poll() is None:
            self.grpc_process.terminate()
            self.grpc_process.wait(30)
        super().stop()


def _sessions(first_seq: int, count: int, agent: int, version: str, start: datetime) -> list:
    """``count`` one-second sessions two seconds apart (the rollup gains a row per hour)."""
    return [
        {
            "seq": first_seq + n,
            "kind": "session",
            "agent": agent,
            "version": version,
            "started_at": (start + timedelta(seconds=2 * n)).isoformat(),
            "ended_at": (start + timedelta(seconds=2 * n + 1)).isoformat(),
        }
        for n in range(count)
    ]


def _batches(events: list) -> list[list]:
    return [events[i : i + BATCH] for i in range(0, len(events), BATCH)]


def _in_threads(work: dict[str, list], send) -> tuple[float, dict[str, int]]:
    """Run ``send(token, batches)`` for every device at once; (seconds, summed totals)."""
    totals = {"accepted": 0, "duplicate": 0, "rejected": 0}
    lock, errors = threading.Lock(), []

    def one(token, batches):
        try:
            counted = send(token, batches)
        except Exception as exc:  # noqa: BLE001 - reported after the run
            errors.append(repr(exc))
            return
        with lock:
            for key, value in counted.items():
                totals[key] += value

    threads = [threading.Thread(target=one, args=item) for item in work.items()]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise StackError(f"a client failed: {errors[0]}")
    return time.perf_counter() - started, totals


def _rest_sender(port: int):
    def send(token: str, batches: list[bytes]) -> dict[str, int]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        totals = {"accepted": 0, "duplicate": 0, "rejected": 0}
        for body in batches:
            conn.request(
                "POST",
                "/api/v1/usage/events",
                body=body,
                headers={"Authorization": f"Device {token}", "Content-Type": "application/json"},
            )
            response = conn.getresponse()
            answer = json.loads(response.read())
            if response.status != 200:
                raise StackError(f"REST answered {response.status}: {answer}")
            for key, value in answer["totals"].items():
                totals[key] += value
        conn.close()
        return totals

    return send


def _grpc_sender(port: int):
    import grpc

    from edgeplug.usage.v1 import usage_pb2_grpc

    def send(token: str, batches: list) -> dict[str, int]:
        # Each device its own connection, as separate devices have (gRPC shares one between
        # channels to the same address unless told not to).
        options = [("grpc.use_local_subchannel_pool", 1)]
        with grpc.insecure_channel(f"127.0.0.1:{port}", options=options) as channel:
            stub = usage_pb2_grpc.UsageServiceStub(channel)
            summary = stub.Report(
                iter(batches), metadata=(("authorization", f"Device {token}"),), timeout=600
            )
        return {
            "accepted": summary.totals.accepted,
            "duplicate": summary.totals.duplicate,
            "rejected": summary.totals.rejected,
        }

    return send


def _to_proto(batch: list):
    from google.protobuf.timestamp_pb2 import Timestamp

    from edgeplug.usage.v1 import usage_pb2 as pb

    def stamp(iso: str) -> Timestamp:
        value = Timestamp()
        value.FromDatetime(datetime.fromisoformat(iso))
        return value

    return pb.ReportBatchRequest(
        events=[
            pb.UsageEvent(
                seq=e["seq"],
                kind=pb.KIND_SESSION,
                agent=e["agent"],
                version=e["version"],
                started_at=stamp(e["started_at"]),
                ended_at=stamp(e["ended_at"]),
            )
            for e in batch
        ]
    )


def _rows(database_url: str) -> int:
    import psycopg

    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT count(*) FROM billing_usageevent").fetchone()[0]


def _cpu(stack: IngestStack) -> dict[str, float]:
    """CPU seconds so far of each part of the machine's work: the server of each door, all of
    PostgreSQL on this machine, and this process (the clients)."""
    return {"grpcserver": cpu_seconds(stack.grpc_pids()), **cpu_by_part(stack)}


def _server_processes(stack: IngestStack) -> dict[int, float]:
    """CPU seconds so far of each gRPC server process (``--processes`` above 1)."""
    return {pid: cpu_seconds([pid]) for pid in stack.grpc_pids()[1:]}


def _phase(name: str, work: dict, send, stack: IngestStack, database_url: str) -> dict:
    before = _rows(database_url)
    cpu, servers = _cpu(stack), _server_processes(stack)
    seconds, totals = _in_threads(work, send)
    cpu = {part: used - cpu[part] for part, used in _cpu(stack).items()}
    servers = [used - servers.get(pid, 0.0) for pid, used in _server_processes(stack).items()]
    sent = sum(totals.values())
    result = {
        "events": sent,
        **totals,
        "seconds": round(seconds, 3),
        "events_per_s": round(sent / seconds) if seconds else 0,
        "rows_added": _rows(database_url) - before,
        # CPU ms per 1,000 events sent, by part: where the machine's two cores went.
        "cpu_ms_per_1000": {
            part: round(used * 1000 / (sent / 1000), 1) if sent else 0.0
            for part, used in cpu.items()
        },
    }
    if name.startswith("grpc") and sum(servers):
        # Each gRPC server process's share of their CPU: the kernel gives each connection to
        # one process (SO_REUSEPORT), so with few devices the split is luck, and it shows here.
        result["grpc_process_shares"] = [round(used / sum(servers), 2) for used in servers]
    print(f"{name}: {result}", flush=True)
    return result


def _goals(phases: dict) -> list[dict]:
    goals = []
    for door in ("rest", "grpc"):
        value = phases[f"{door}_first"]["events_per_s"]
        goals.append(
            {
                "goal": f"{door} ≥ {GOALS[door]:,} events/s",
                "value": value,
                "met": value >= GOALS[door],
            }
        )
        resend = phases[f"{door}_resend"]
        goals.append(
            {
                "goal": f"{door} resend adds 0 rows",
                "value": resend["rows_added"],
                "met": resend["rows_added"] == 0 and resend["duplicate"] == resend["events"],
            }
        )
    return goals


def _table(result: dict) -> str:
    p = result["parameters"]
    lines = [
        cli.title(
            result,
            "ingest benchmark",
            f"gunicorn {p['workers']} sync workers + manage.py grpcserver "
            f"--processes {p['grpc_processes']}, PostgreSQL "
            f"{result['versions']['postgresql']}; {p['events']:,} session events per door from "
            f"{p['devices']} devices at once, batches of {BATCH:,}",
            smoke=p["smoke"],
        ),
        "",
        "| door | send | events | accepted | duplicate | rejected | s | events/s | rows added "
        "| goal |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for door, label in (("rest", "REST POST /api/v1/usage/events"), ("grpc", "gRPC Report stream")):
        for send in ("first", "resend"):
            row = result["phases"][f"{door}_{send}"]
            if send == "first":
                met = row["events_per_s"] >= GOALS[door]
                goal = f"≥ {GOALS[door]:,}/s — {'met' if met else 'NOT met'}"
            else:
                met = row["rows_added"] == 0
                goal = f"0 rows — {'met' if met else 'NOT met'}"
            lines.append(
                f"| {label} | {send} | {row['events']:,} | {row['accepted']:,} | "
                f"{row['duplicate']:,} | {row['rejected']:,} | {row['seconds']} | "
                f"{row['events_per_s']:,} | {row['rows_added']:,} | {goal} |"
            )
    lines += [
        "",
        "CPU per 1,000 events, ms, by part (`/proc`; PostgreSQL is all of it on this machine, "
        "the client is this process):",
        "",
        "| door | send | grpcserver | gunicorn | PostgreSQL | client | total |",
        "|---|---|---|---|---|---|---|",
    ]
    for door, label in (("rest", "REST"), ("grpc", "gRPC")):
        for send in ("first", "resend"):
            cpu = result["phases"][f"{door}_{send}"].get("cpu_ms_per_1000")
            if cpu:
                parts = [cpu[part] for part in ("grpcserver", "gunicorn", "postgresql", "client")]
                lines.append(
                    f"| {label} | {send} | "
                    + " | ".join(f"{v:.1f}" for v in parts)
                    + f" | {sum(parts):.1f} |"
                )
    shares = result["phases"]["grpc_first"].get("grpc_process_shares")
    if shares and len(shares) > 1:
        lines += [
            "",
            "gRPC server processes' shares of their CPU (first send; the kernel hands each "
            f"device's connection to one process): {', '.join(f'{s:.0%}' for s in shares)}",
        ]
    lines += ["", f"All goals met: {'yes' if all(g['met'] for g in result['goals']) else 'NO'}"]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> dict:
    size = cli.chosen_size(args, full=FULL, smoke=SMOKE)
    run_dir = Path(args.out).resolve().parent / "ingest-run"
    stack = IngestStack(args.database_url, args.redis_url, size["workers"], run_dir)
    with fresh_database(stack, args) as versions:
        seed = json.loads(
            stack._python("-m", "benchmarks.ingest.seed", "--devices", str(size["devices"]))
        )
        stack.start()
        stack.start_grpc(size["grpc_processes"], streams=size["devices"])
        per_device = size["events"] // size["devices"]
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=30)
        work = {"rest": {}, "grpc": {}}
        for door, first_seq in (("rest", 1), ("grpc", per_device + 1)):
            for token in seed["tokens"]:
                events = _sessions(first_seq, per_device, seed["agent"], seed["version"], start)
                if door == "rest":
                    work[door][token] = [
                        json.dumps({"events": batch}).encode() for batch in _batches(events)
                    ]
                else:
                    work[door][token] = [_to_proto(batch) for batch in _batches(events)]
            start += timedelta(seconds=2 * per_device)  # gRPC sessions follow the REST ones
        phases = {}
        senders = {"rest": _rest_sender(stack.port), "grpc": _grpc_sender(stack.grpc_port)}
        for door in ("rest", "grpc"):
            for send in ("first", "resend"):
                phases[f"{door}_{send}"] = _phase(
                    f"{door} {send}", work[door], senders[door], stack, args.database_url
                )
    result = {
        "benchmark": "ingest",
        **cli.provenance(),
        "versions": versions,
        "parameters": {**size, "smoke": args.smoke, "batch": BATCH},
        "seed": {k: v for k, v in seed.items() if k != "tokens"},
        "phases": phases,
    }
    result["goals"] = _goals(phases)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = cli.bench_parser("ingest", __doc__, smoke="a tiny run (seconds), as CI runs it")
    parser.add_argument("--events", type=int, help="events per door")
    parser.add_argument("--devices", type=int, help="devices (client threads) per door")
    parser.add_argument("--workers", type=int, help="gunicorn workers")
    parser.add_argument("--grpc-processes", type=int, help="manage.py grpcserver --processes")
    cli.add_stack_arguments(parser, DATABASE_URL)
    return cli.finish("bench-ingest", run, parser.parse_args(argv), _table)


if __name__ == "__main__":
    sys.exit(main())
