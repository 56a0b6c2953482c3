"""The full stack the web benchmark runs against: its own PostgreSQL database, Redis, and
gunicorn started exactly as deployed (``gunicorn edgeplug.wsgi``, sync workers, access log to
stdout), with the bench settings module adding only the ceiling views. ``worker_class`` and
``threads`` start another configuration (``make bench-gunicorn`` compares them)."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tests.processes import stop_process

ROOT = Path(__file__).resolve().parents[2]

# Raised so that one benchmark user is never throttled; the throttles still run, as in
# production. Per second, so a throttle's request history stays one second long.
RAISED_THROTTLE = "1000000/s"


class StackError(RuntimeError): ...


def database_name(url: str) -> str:
    name = urlsplit(url).path.lstrip("/")
    if "bench" not in name:
        # The benchmark drops and recreates its database: never one that is not its own.
        raise StackError(f"the benchmark database must have 'bench' in its name, not {name!r}")
    return name


def add_template_argument(parser) -> None:
    parser.add_argument(
        "--template-database",
        help="a migrated database (no one connected) to copy instead of migrating a new one;"
        " the test suite migrates one for all its smoke runs",
    )


def recreate_database(url: str, template: str | None = None) -> None:
    """Drop and create the benchmark's database, empty or as a copy of ``template``."""
    import psycopg
    from psycopg import sql

    name = database_name(url)
    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        create += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    try:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            conn.execute(create)
    except psycopg.OperationalError as exc:
        raise StackError(
            f"PostgreSQL at {parts.hostname}:{parts.port} is not reachable: {exc}"
        ) from exc


def drop_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    name = database_name(url)
    admin = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def server_versions(database_url: str, redis_url: str) -> dict[str, str]:
    import django
    import gunicorn
    import psycopg
    import redis

    with psycopg.connect(database_url) as conn:
        postgres = conn.execute("SHOW server_version").fetchone()[0]
    try:
        redis_version = redis.Redis.from_url(redis_url).info()["redis_version"]
    except redis.RedisError as exc:
        raise StackError(f"Redis at {redis_url} is not reachable: {exc}") from exc
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
    return {
        "python": sys.version.split()[0],
        "django": django.get_version(),
        "gunicorn": gunicorn.__version__,
        "postgresql": postgres,
        "redis": redis_version,
        "wrk": (wrk.stdout or wrk.stderr).split("[")[0].strip().removeprefix("wrk "),
    }


@contextmanager
def fresh_database(stack: Stack, args) -> Iterator[dict[str, str]]:
    """Around a benchmark run: its database made anew (from ``--template-database``, else
    migrated) and the server versions yielded; on the way out the stack stops and the database
    is dropped (unless ``--keep-database``)."""
    recreate_database(args.database_url, args.template_database)
    try:
        versions = server_versions(args.database_url, args.redis_url)
        if not args.template_database:
            stack.manage("migrate", "--noinput", "-v0")
        yield versions
    finally:
        stack.stop()
        if not args.keep_database:
            drop_database(args.database_url)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU the processes ``pids`` (all their threads) and their children that
    ended (reaped: a gunicorn worker recycled, a PostgreSQL backend whose connection closed)
    have used so far, from ``/proc``; a process that has gone counts nothing."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(map(int, fields[11:15]))  # utime, stime, cutime, cstime
    return total / ticks


def cpu_by_part(stack: Stack) -> dict[str, float]:
    """CPU seconds so far of gunicorn (master and workers), all of PostgreSQL on this machine,
    and this process (the benchmark's clients): read before and after a phase, where the
    machine's cores went."""
    return {
        "gunicorn": stack.cpu_seconds(),
        "postgresql": cpu_seconds(postgres_pids()),
        "client": time.process_time(),
    }


def children(pid: int) -> list[int]:
    """The live child processes of ``pid`` (``/proc``)."""
    try:
        return [
            int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        ]
    except FileNotFoundError:
        return []


def postgres_pids() -> list[int]:
    """The PostgreSQL server processes on this machine (postmaster, backends, background
    workers): what the database costs, when it runs here."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Stack:
    database_url: str
    redis_url: str
    workers: int
    run_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    # gunicorn's --worker-class and --threads; the deployed command line passes neither.
    worker_class: str = "sync"
    threads: int = 1

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DB_"))}
        env.update(
            DJANGO_SETTINGS_MODULE="benchmarks.web.settings",
            PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            CELERY_BROKER_URL=self.redis_url,
            CACHE_KEY_PREFIX=f"edgeplug-bench-{database_name(self.database_url)}",
            EDGEPLUG_VAR_DIR=str(self.run_dir),
            # Every process of the stack shares run_dir, where the first writes the key ring.
            PLATFORM_SIGNING_KEYS_GENERATE="true",
            THROTTLE_ANON=RAISED_THROTTLE,
            THROTTLE_USER=RAISED_THROTTLE,
            THROTTLE_TENANT=RAISED_THROTTLE,
            # A benchmark's devices report as fast as it drives them (the soak's ingest share
            # of a rate calibrated on the machine went past 600/min and was answered 429).
            THROTTLE_DEVICE=RAISED_THROTTLE,
            JWT_ACCESS_MINUTES="600",  # longer than any run
            LOG_LEVEL="WARNING",
            DEBUG="false",
        )
        return env

    def manage(self, *args: str) -> str:
        return self._python("manage.py", *args)

    def seed(self, *args: str) -> dict:
        return json.loads(self._python("-m", "benchmarks.web.seed", *args))

    def seed_catalogue(self, agents: int, versions: int) -> dict:
        """``agents`` public agents with ``versions`` public versions between them, their
        vendor and a customer (``benchmarks.web.seed catalogue``); says what was seeded."""
        seed = self.seed("catalogue", "--agents", str(agents), "--versions", str(versions))
        print(
            f"seeded {seed['agents']} agents / {seed['public_versions']} public versions "
            f"by {seed['seeded_by']}",
            flush=True,
        )
        return seed

    def _python(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, *args],
            cwd=ROOT,
            env=self.environment(),
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise StackError(f"{' '.join(args)} failed:\n{done.stderr[-4000:]}")
        return done.stdout

    def start(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.run_dir / "gunicorn.log", "wb")  # noqa: SIM115 - closed with the process
        # The deployed command line (Dockerfile, docker-compose.yml, manage.py runstack).
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "edgeplug.wsgi",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
            "--access-logfile",
            "-",
        ]
        if self.worker_class != "sync":
            command += ["--worker-class", self.worker_class, "--threads", str(self.threads)]
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=self.environment(), stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        deadline = time.monotonic() + 180  # workers boot slowly on a loaded machine
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise StackError(f"gunicorn exited; see {self.run_dir / 'gunicorn.log'}")
            if self._healthy() and len(self.worker_pids()) == self.workers:
                return
            time.sleep(0.2)
        raise StackError("gunicorn did not answer /health within 180 s")

    def _healthy(self) -> bool:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
        try:
            conn.request("GET", "/health")
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    def worker_pids(self) -> list[int]:
        return children(self.process.pid) if self.process else []

    def cpu_seconds(self) -> float:
        """User + system CPU the master and its workers have used so far (``/proc``): the
        cost of the requests served between two readings, whatever else loads the machine."""
        return cpu_seconds([self.process.pid, *self.worker_pids()] if self.process else [])

    def worker_rss_mb(self) -> list[float]:
        sizes = []
        for pid in self.worker_pids():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(round(int(line.split()[1]) / 1024, 1))
        return sizes

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, timeout=30)

    @contextmanager
    def celery_worker(
        self, *arguments: str, env: dict[str, str] | None = None
    ) -> Iterator[subprocess.Popen]:
        """A real Celery worker (``celery worker *arguments``) on this stack's database and
        broker, logging to ``worker.log`` in the run directory, for the block; then a warm
        shutdown (a minute to finish what it holds)."""
        from edgeplug.core.processes import celery_command

        log = open(self.run_dir / "worker.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            celery_command("worker", *arguments),
            cwd=ROOT,
            env={**self.environment(), **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        try:
            yield process
        finally:
            stop_process(process, timeout=60)
