"""The embedded default: start the whole service with no configuration, use it, stop it."""

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from django.conf import settings

from tests.network import answering, free_port
from tests.processes import wait_while_running

pytestmark = pytest.mark.slow


# A bound on waiting, not a speed check: start-up migrates a fresh SQLite database first, which
# took over three minutes on a shared two-core machine under load.
def _wait_ready(url: str, proc: subprocess.Popen, timeout: float = 600) -> requests.Response:
    wait_while_running(proc, lambda: answering(url), timeout=timeout, what=f"{url} not ready")
    return requests.get(url, timeout=10)


def _wait_for_line(path: Path, text: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    wait_while_running(
        proc,
        lambda: text in path.read_text(errors="replace"),
        timeout=timeout,
        what=f"{text!r} not logged",
        log=path,
    )


def test_runstack_starts_serves_a_jwt_and_stops_cleanly(tmp_path: Path):
    port, stripe_port = free_port(), free_port()
    # No configuration at all, except a private var/ so the developer's data is left alone, and
    # what `make run` (scripts/run.sh) sets: /metrics open on its loopback server.
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "EDGEPLUG_VAR_DIR": str(tmp_path),
        "METRICS_OPEN_WITHOUT_TOKEN": "true",
    }
    log = open(tmp_path / "runstack.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "runstack",
            "--port",
            str(port),
            "--workers",
            "1",
            "--concurrency",
            "1",
            "--stripe-port",
            str(stripe_port),
            "--grpc-address",
            f"127.0.0.1:{free_port()}",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        ready = _wait_ready(f"http://127.0.0.1:{port}/ready", proc)
        assert ready.json()["checks"] == {
            "database": "ok",
            "cache": "ok",
            "broker": "ok",
            "storage": "ok",
        }
        assert (tmp_path / "edgeplug.sqlite3").exists()
        # A browser opens connections ahead of need and may send nothing on them (Chromium's
        # preconnect): one held open must not stall the only web worker until its timeout.
        with socket.create_connection(("127.0.0.1", port)):
            assert requests.get(f"http://127.0.0.1:{port}/ready", timeout=10).status_code == 200
        creds = json.loads((tmp_path / "demo-credentials.json").read_text())
        vendor = next(c for c in creds if c["email"].startswith("vendor@"))
        token = requests.post(
            f"http://127.0.0.1:{port}/api/v1/auth/token",
            json={"email": vendor["email"], "password": vendor["password"]},
            timeout=10,
        )
        assert token.status_code == 200, token.text
        me = requests.get(
            f"http://127.0.0.1:{port}/api/v1/auth/me",
            timeout=10,
            headers={"Authorization": f"Bearer {token.json()['access']}"},
        )
        assert me.json()["tenant"] == "acme-sensors"
        docs = requests.get(f"http://127.0.0.1:{port}/api/v1/docs/", timeout=10)
        asset = requests.get(
            f"http://127.0.0.1:{port}/static/drf_spectacular_sidecar/swagger-ui-dist/"
            "swagger-ui-bundle.js",
            timeout=10,
        )
        assert docs.status_code == 200 and asset.status_code == 200
        assert requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).status_code == 200
        landing = requests.get(f"http://127.0.0.1:{port}/", timeout=10)
        assert landing.status_code == 200 and "/api/v1/docs/" in landing.text
        _wait_for_line(tmp_path / "runstack.log", " ready.", proc)  # the worker's start-up line
        # With no STRIPE_API_KEY, localstripe is the test-mode processor, state under var/.
        customers = requests.get(
            f"http://127.0.0.1:{stripe_port}/v1/customers",
            headers={"Authorization": "Bearer sk_test_localstripe"},
            timeout=10,
        )
        assert customers.status_code == 200 and customers.json()["object"] == "list"
        assert (tmp_path / "localstripe").is_dir()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = "killed"
        log.close()
    output = (tmp_path / "runstack.log").read_text()
    assert code == 0, output[-3000:]
    assert "Stopped." in output
    # A clean start for a newcomer: no warning repeated by every Celery process.
    assert "No hostname was supplied" not in output
    assert "superuser privileges" not in output
    assert "health.W001" not in output
    assert "PAYMENTS ARE IN TEST MODE" in output
