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

import requests
from django.conf import settings
from django.db import connection

from tests.processes import stop_process


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url_for_test_db() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    return f"postgres://{auth}{db.get('HOST') or ''}:{db.get('PORT') or 5432}/{db['NAME']}"


@dataclass
class Server:
    url: str
    access_log: Path

    def worker_pids(self) -> set[str]:
        """The worker processes that answered requests (gunicorn's access log, pid first)."""
        lines = self.access_log.read_text().splitlines()
        return {line.split()[0] for line in lines if line.startswith("<")}


@contextmanager
def gunicorn(workdir: Path, *, workers: int = 2, env: dict[str, str]) -> Iterator[Server]:
    """gunicorn on a free port with exactly ``env`` (plus PATH), stopped on exit."""
    port = free_port()
    access_log = workdir / "access.log"
    error_log = workdir / "gunicorn.log"
    full_env = {"PATH": os.environ["PATH"], "HOME": str(workdir), **env}
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
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, error_log.read_text()[-3000:]
            try:
                if requests.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet
                pass
            assert time.monotonic() < deadline, "gunicorn not ready in 90 s"
            time.sleep(0.2)
        yield Server(url=url, access_log=access_log)
    finally:
        stop_process(proc)
