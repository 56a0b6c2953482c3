"""Start the real web server (gunicorn, several worker processes) for tests that need one."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import requests
from django.conf import settings
from django.db import connection

from tests.network import answering, free_port
from tests.processes import shared_keys, stop_process, wait_while_running


def database_url_for_test_db() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    return f"postgres://{auth}{db.get('HOST') or ''}:{db.get('PORT') or 5432}/{db['NAME']}"


def connect_to_test_db(**options) -> psycopg.Connection:
    """A psycopg connection of its own to the test database (PostgreSQL), beside Django's."""
    conninfo = database_url_for_test_db().replace("postgres://", "postgresql://", 1)
    return psycopg.connect(conninfo, **options)


@dataclass
class Server:
    url: str
    access_log: Path

    def answered_by(self, request: str = "", *, at_least: int = 0) -> list[str]:
        """The pids of the workers that answered requests whose line contains ``request``, in
        order (gunicorn's access log, pid first), once there are ``at_least`` of them:
        gunicorn writes the line just after it answers."""
        deadline = time.monotonic() + 10
        while True:
            lines = self.access_log.read_text().splitlines()
            pids = [line.split()[0] for line in lines if line.startswith("<") and request in line]
            if len(pids) >= at_least:
                return pids
            assert time.monotonic() < deadline, f"fewer than {at_least} {request!r} in the log"
            time.sleep(0.01)

    def worker_pids(self) -> set[str]:
        """The worker processes that answered requests."""
        return set(self.answered_by())

    def _free_worker(self) -> str:
        """The pid of the worker that answers a ``/health`` probe now."""
        seen = len(self.answered_by("/health"))
        requests.get(f"{self.url}/health", timeout=10).raise_for_status()
        return self.answered_by("/health", at_least=seen + 1)[-1]

    @contextmanager
    def busy(self, pid: str) -> Iterator[None]:
        """Keep worker ``pid`` busy (a request whose headers never end) for the block, so that
        the other worker of a two-worker sync gunicorn answers everything sent meanwhile.

        The kernel hands a connection to whichever worker accepts first, and on some machines
        that is nearly always the same one, so waiting for luck can wait forever. Instead:
        stall one worker; if that was the other one, stall a second connection, which only
        ``pid`` is free to accept, give it the time to, and release the first. A probe checks
        which worker is left free; a few attempts cover a worker slow to go back to accept."""
        host, port = self.url.removeprefix("http://").split(":")

        def stall() -> socket.socket:
            held = socket.create_connection((host, int(port)))
            held.sendall(b"GET /health HTTP/1.1\r\nHost: stalled\r\n")
            return held

        for _attempt in range(20):
            stalled = [stall()]
            try:
                if self._free_worker() == pid:  # the first stall went to the other worker
                    stalled.append(stall())  # pid is the only worker accepting
                    time.sleep(0.2)  # for pid to finish its probe and accept it
                    stalled.pop(0).close()  # the other worker reads EOF and accepts again
                    if self._free_worker() == pid:
                        continue
                yield
                return
            finally:
                for held in stalled:
                    held.close()
            time.sleep(0.05)  # let the released workers go back to accepting
        raise AssertionError(f"worker {pid} never took the stalled connection")


@contextmanager
def gunicorn(workdir: Path, *, workers: int = 2, env: dict[str, str]) -> Iterator[Server]:
    """gunicorn on a free port with exactly ``env`` (plus PATH), stopped on exit."""
    port = free_port()
    access_log = workdir / "access.log"
    error_log = workdir / "gunicorn.log"
    full_env = {"PATH": os.environ["PATH"], "HOME": str(workdir), **shared_keys(env), **env}
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        "edgeplug.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--access-logfile",
        str(access_log),
        "--access-logformat",
        "%(p)s %(s)s %(r)s",
        "--error-logfile",
        str(error_log),
    ]
    proc = subprocess.Popen(cmd, cwd=settings.BASE_DIR, env=full_env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_while_running(
            proc,
            lambda: answering(f"{url}/health"),
            timeout=90,
            what="gunicorn did not answer /health",
            log=error_log,
        )
        yield Server(url=url, access_log=access_log)
    finally:
        stop_process(proc)
