"""The embedded default (SQLite, filesystem broker, real processes) takes concurrent writers."""

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from django.conf import settings

from edgeplug import signing
from edgeplug.core.processes import celery_command
from tests.certification.conftest import model_package
from tests.gunicorn_server import gunicorn
from tests.processes import stop_process

pytestmark = [pytest.mark.slow, pytest.mark.worker]
TENANT = "acme-sensors"  # created by seed_demo, a vendor tenant
FINAL = {"passed", "failed", "error"}


@pytest.fixture(scope="module")
def seeded_var(tmp_path_factory) -> Path:
    """The embedded default migrated and seeded once for the module (seed_demo certifies
    its agent through the whole pipeline: the slow part)."""
    var = tmp_path_factory.mktemp("embedded-seeded")
    manage(var, "migrate", "--noinput")
    manage(var, "seed_demo")
    return var


@pytest.fixture
def var(seeded_var, tmp_path) -> Path:
    """A fresh embedded default of the test's own, in its own var/: a copy of every file of
    the seeded one (SQLite database, keys, media, broker folders), no process holding any."""
    copy = tmp_path / "var"
    shutil.copytree(seeded_var, copy)
    return copy


def _env(var: Path, **extra) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "HOME": str(var), "EDGEPLUG_VAR_DIR": str(var), **extra}


def manage(var: Path, *args: str, **env) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=_env(var, **env),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@contextmanager
def celery_worker(var: Path, **env):
    log_path = var / "worker.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            celery_command("worker", "--concurrency", "2", "--without-gossip", "--without-mingle"),
            cwd=settings.BASE_DIR,
            env=_env(var, **env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    proc.log_path = log_path
    try:
        yield proc
    finally:
        stop_process(proc)


class Vendor:
    """The demo vendor, signed in over HTTP, with a registered signing key."""

    def __init__(self, url: str, var: Path):
        creds = json.loads((var / "demo-credentials.json").read_text())
        login = next(c for c in creds if c.get("tenant") == TENANT)
        token = requests.post(
            f"{url}/api/v1/auth/token",
            json={"email": login["email"], "password": login["password"]},
            timeout=30,
        )
        assert token.status_code == 200, token.text
        self.url = url
        self._signed_in(token.json())
        self.keys = signing.generate_keypair()
        key = self.post("/api/v1/vendor/keys", json={"name": "ci", "public_key": self._pub()})
        assert key.status_code == 201, key.text

    def _pub(self) -> str:
        return signing.encode_b64(self.keys.public_key)

    def post(self, path: str, **kwargs) -> requests.Response:
        return requests.post(f"{self.url}{path}", headers=self.headers, timeout=60, **kwargs)

    def get(self, path: str) -> requests.Response:
        """GET as an API client does: an access token lasts 5 minutes, and a run waited on
        longer on a slow machine, so a 401 is answered by refreshing it once."""
        response = requests.get(f"{self.url}{path}", headers=self.headers, timeout=60)
        if response.status_code != 401:
            return response
        refreshed = requests.post(
            f"{self.url}/api/v1/auth/token/refresh", json={"refresh": self.refresh}, timeout=30
        )
        assert refreshed.status_code == 200, refreshed.text
        self._signed_in(refreshed.json())
        return requests.get(f"{self.url}{path}", headers=self.headers, timeout=60)

    def _signed_in(self, tokens: dict) -> None:
        self.headers = {"Authorization": f"Bearer {tokens['access']}"}
        self.refresh = tokens["refresh"]

    def upload(self, version: str) -> int:
        # Not the demo agent (seed_demo publishes sensor-guard 1.0.0 for this vendor).
        data = model_package(version=version, vendor=TENANT, name="line-watch")
        signature = signing.encode_b64(signing.sign_package(self.keys.private_key, data))
        response = self.post(
            "/api/v1/agents/upload",
            files={"package": ("agent.epk", data, "application/octet-stream")},
            data={"signature": signature, "key_id": self.keys.key_id},
        )
        assert response.status_code == 201, response.text
        return response.json()["version"]["id"]

    def submit(self, version_id: int) -> int:
        response = self.post("/api/v1/certification/submit", json={"version_id": version_id})
        assert response.status_code == 202, response.text
        return response.json()["run_id"]

    def wait_until_finished(self, run_ids: list[int], timeout: float) -> dict[int, str]:
        deadline = time.monotonic() + timeout
        while True:
            statuses = {rid: self.get(f"/api/v1/certification/{rid}").json() for rid in run_ids}
            statuses = {rid: body["status"] for rid, body in statuses.items()}
            if set(statuses.values()) <= FINAL or time.monotonic() > deadline:
                return statuses
            time.sleep(1)


def test_adduser_twice_at_once_both_succeed(var):
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "adduser",
                f"dev{n}@example.com",
                "--tenant",
                TENANT,
                "--role",
                "developer",
            ],
            cwd=settings.BASE_DIR,
            env=_env(var),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    outcomes = [(proc.wait(timeout=120), proc.stderr.read()[-2000:]) for proc in procs]
    assert [code for code, _ in outcomes] == [0, 0, 0, 0], outcomes


def test_ten_runs_submitted_at_once_all_finish(var):
    with gunicorn(var, workers=2, env=_env(var)) as server, celery_worker(var):
        vendor = Vendor(server.url, var)
        versions = [vendor.upload(f"1.0.{n}") for n in range(10)]
        with ThreadPoolExecutor(max_workers=10) as pool:
            runs = list(pool.map(vendor.submit, versions))
        statuses = vendor.wait_until_finished(runs, timeout=600)
    assert statuses == dict.fromkeys(runs, "passed")


def test_a_stage_that_loses_a_database_race_retries_instead_of_sticking(var):
    with gunicorn(var, workers=1, env=_env(var)) as server:
        vendor = Vendor(server.url, var)
        run = vendor.submit(vendor.upload("2.0.0"))
        # Another writer holds SQLite's write lock while the worker picks the run up.
        blocker = sqlite3.connect(var / "edgeplug.sqlite3", isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            with celery_worker(var, SQLITE_BUSY_TIMEOUT_S="1") as worker:
                # Held until a stage lost the race and was retried (Celery's log line of it): a
                # "database is locked" alone may be the task counter's, which never retries.
                deadline = time.monotonic() + 120
                while "retry: Retry in" not in worker.log_path.read_text():
                    assert time.monotonic() < deadline, worker.log_path.read_text()[-3000:]
                    time.sleep(0.5)
                blocker.execute("ROLLBACK")
                statuses = vendor.wait_until_finished([run], timeout=300)
                log = worker.log_path.read_text()
        finally:
            blocker.close()
    assert statuses == {run: "passed"}, log[-5000:]
    assert "retry: Retry in 5s: OperationalError('database is locked')" in log
