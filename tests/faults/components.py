"""Real components a fault test can break: a private Redis it stops and starts, Celery workers
it SIGKILLs (the whole process group, as the kernel's OOM killer or a lost machine would),
without touching the shared Redis or the suite's session worker, and the test database's
connections it ends or sends to a server that cannot write."""

import os
import random
import shutil
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection

from edgeplug.core.processes import celery_command
from tests.gunicorn_server import connect_to_test_db, database_url_for_test_db
from tests.network import free_port, listening
from tests.processes import wait_while_running

REDIS_SERVER = shutil.which("redis-server")


class PrivateRedis:
    """A redis-server of the test's own, that the test can stop and start on the same port."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = (self.workdir / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                *("--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(self.workdir)),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_while_running(
            self.process,
            lambda: listening(self.port),
            timeout=20,
            what="redis-server did not listen",
            log=self.workdir / "redis.log",
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)

    def command(self, *words: str) -> str:
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as conn:
            conn.sendall((" ".join(words) + "\r\n").encode())
            return conn.recv(4096).decode()

    def queue_length(self, queue: str) -> int:
        reply = self.command("LLEN", queue)
        assert reply.startswith(":"), reply
        return int(reply[1:].strip())


class KillableWorker:
    """``celery worker`` processes on the test database and a private broker, each the
    leader of its own process group so that SIGKILL takes the main process, its pool
    children and their sandboxes at once: no process is left to requeue anything."""

    def __init__(self, workdir: Path, env: dict[str, str]):
        self.workdir = workdir
        self.env = env
        self.processes: list[subprocess.Popen] = []

    def start(self) -> subprocess.Popen:
        log = (self.workdir / f"worker-{len(self.processes)}.log").open("wb")
        proc = subprocess.Popen(
            celery_command("worker", "--concurrency", "2", "--without-gossip", "--without-mingle"),
            cwd=settings.BASE_DIR,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen) -> None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text()[-6000:]}"
            for path in sorted(self.workdir.glob("worker-*.log"))
        )

    def group_of(self, pid: int) -> subprocess.Popen:
        """The worker whose process group holds ``pid`` (a pool child running a task)."""
        group = os.getpgid(pid)
        return next(proc for proc in self.processes if proc.pid == group)

    def stop_all(self) -> None:
        # The broker they consume is thrown away with the test: no warm shutdown to wait for.
        for proc in self.processes:
            if proc.poll() is None:
                self.kill(proc)


def worker_env(broker_url: str, media_root: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url_for_test_db(),
        "MEDIA_ROOT": str(media_root),
        "CELERY_BROKER_URL": broker_url,
        "CELERY_RESULT_BACKEND": broker_url,
        **extra,
    }


def web_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """gunicorn's environment: the test database, and the keys this process signed the
    test clients' tokens with."""
    return {
        "EDGEPLUG_VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": database_url_for_test_db(),
        "SECRET_KEY": settings.SECRET_KEY,
        "JWT_SIGNING_KEY": settings.SIMPLE_JWT["SIGNING_KEY"],
        "THROTTLE_USER": "100000/min",
        "THROTTLE_TENANT": "100000/min",
        **extra,
    }


class BackendKiller(threading.Thread):
    """Terminates (``pg_terminate_backend``) the connections of the test database named
    ``application_name``, until stopped or until ``budget`` connections are killed.

    Without ``when``: every connection, after each seeded random pause in ``pause_s``. With
    ``when`` (a condition on ``pg_stat_activity``): the connections matching it, looked for
    every 10 ms, with a pause in ``pause_s`` after each kill. Remembers what each killed
    backend was doing (state, query)."""

    def __init__(
        self,
        application_name: str,
        pause_s=(0.05, 0.4),
        budget: int | None = None,
        when: str | None = None,
    ):
        super().__init__(daemon=True)
        self.application_name = application_name
        self.pause_s = pause_s
        self.budget = budget
        self.when = when
        self.stopping = threading.Event()
        self.killed: list[tuple[str, str]] = []
        self.rng = random.Random(16)
        self.database = connection.settings_dict["NAME"]

    def run(self) -> None:
        query = (
            "SELECT state, query, pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND application_name = %s AND pid <> pg_backend_pid()"
        )
        if self.when:
            query += f" AND ({self.when})"
        pause = self.rng.uniform(*self.pause_s)
        with connect_to_test_db(autocommit=True) as conn:
            while not self.stopping.wait(pause):
                if self.budget is not None and len(self.killed) >= self.budget:
                    return
                rows = conn.execute(query, (self.database, self.application_name)).fetchall()
                killed = [(state, sql) for state, sql, done in rows if done]
                self.killed += killed
                waiting = self.when is not None and not killed
                pause = 0.01 if waiting else self.rng.uniform(*self.pause_s)

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=10)


def _on_the_test_database(sql: str, *params) -> list[tuple]:
    """``sql`` on a connection of its own (the test's may be in a transaction, and a new one to
    a read-only database would be read-only), ``{db}`` the test database's name."""
    with connect_to_test_db(autocommit=True) as conn:
        conn.execute("SET default_transaction_read_only = off")
        cursor = conn.execute(sql.format(db=connection.settings_dict["NAME"]), params)
        return cursor.fetchall() if cursor.description else []


@contextmanager
def failed_over_to_a_standby(
    application_name: str = "", *, between_connections: bool = False
) -> Iterator[None]:
    """A failover that lands the application on a server that cannot write: the connections
    named ``application_name`` are ended, as a failover ends them (without a name, the test
    process's own threads', such as an in-process gRPC server's, but the test's; the session
    Celery worker's are named), and every new session of the test database is read-only
    (what the old primary come back as a standby answers) until the block ends.
    ``between_connections``: the application may hold none (a Celery worker between tasks
    closes its own), else one must have been ended."""
    if connection.vendor != "postgresql":
        raise RuntimeError("a read-only standby is PostgreSQL's: the embedded SQLite has none")
    mine = connection.cursor().connection.info.backend_pid  # opened before it is read-only
    _on_the_test_database('ALTER DATABASE "{db}" SET default_transaction_read_only = on')
    try:
        ended = _on_the_test_database(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}'"
            " AND pid <> pg_backend_pid() AND pid <> %s AND application_name = %s",
            mine,
            application_name,
        )
        assert ended or between_connections, "the application had no connection to end"
        yield
    finally:
        _on_the_test_database('ALTER DATABASE "{db}" RESET default_transaction_read_only')


@contextmanager
def connection_on_a_standby() -> Iterator[None]:
    """The test's own connection answers as a standby does (reads served, writes refused)
    until the block ends, in process: what a web worker's connection meets after a failover.
    At the end a new connection, or the same one, is made writable again."""
    with connection.cursor() as cursor:
        cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE")
