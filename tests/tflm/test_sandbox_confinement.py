"""The child really runs without network, secrets, privileges or unbounded resources.

Checked from outside, through /proc, rather than trusting the child's own report.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from certification.tflm import sample_models
from tests.tflm.helpers import FAST_LIMITS

pytestmark = pytest.mark.slow

_ROOT = Path(__file__).resolve().parents[2]


def _proc(pid: int, name: str) -> str:
    return Path(f"/proc/{pid}/{name}").read_text(errors="replace")


def test_child_has_no_network_interfaces_when_the_platform_allows(open_sandbox):
    sandbox = open_sandbox(sample_models.sensor_classifier().tflite)
    isolation = sandbox.isolation
    if isolation.network_method == "none":
        pytest.skip(f"this platform allows no network namespace: {isolation.network_detail}")
    assert isolation.network_isolated
    devices = _proc(sandbox._process.pid, "net/dev").splitlines()[2:]
    assert [line.split(":")[0].strip() for line in devices] == ["lo"]


def test_child_environment_holds_no_inherited_secrets(open_sandbox, monkeypatch):
    monkeypatch.setenv("EDGEPLUG_TEST_SECRET", "do-not-leak")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "do-not-leak")
    sandbox = open_sandbox(sample_models.sensor_classifier().tflite)
    environ = _proc(sandbox._process.pid, "environ")
    assert "do-not-leak" not in environ
    names = {entry.split("=", 1)[0] for entry in environ.split("\0") if entry}
    assert names <= {
        "PATH",
        "PYTHONPATH",
        "PYTHONNOUSERSITE",
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONHASHSEED",
        "LANG",
        "OPENBLAS_NUM_THREADS",
        "OMP_NUM_THREADS",
    }


def test_child_runs_under_its_rlimits_and_without_root(open_sandbox):
    sandbox = open_sandbox(sample_models.sensor_classifier().tflite)
    limits = {
        line[:26].strip(): line[26:].split()
        for line in _proc(sandbox._process.pid, "limits").splitlines()[1:]
    }
    assert limits["Max cpu time"][0] == str(FAST_LIMITS.cpu_seconds)
    assert limits["Max address space"][0] == str(FAST_LIMITS.memory_bytes)
    assert limits["Max core file size"][0] == "0"
    assert limits["Max file size"][0] == str(FAST_LIMITS.log_bytes)
    if os.geteuid() == 0:
        assert sandbox.isolation.privileges_dropped
        uid_line = next(
            line
            for line in _proc(sandbox._process.pid, "status").splitlines()
            if line.startswith("Uid:")
        )
        assert uid_line.split()[1:] == ["65534"] * 4


def _running(pid: int) -> bool:
    try:
        return "State:\tZ" not in _proc(pid, "status")
    except FileNotFoundError:
        return False


def test_busy_child_dies_with_the_process_that_started_it():
    # A stand-in worker starts a hanging model, reports the child's pid and is SIGKILLed while
    # the child spins inside invoke(): no pipe EOF reaches it, only the parent-death signal.
    script = (
        "from certification.tflm import sample_models\n"
        "from certification.tflm.sandbox import ModelSandbox, SandboxLimits\n"
        "sandbox = ModelSandbox(sample_models.endless_loop().tflite, SandboxLimits())\n"
        "sandbox.start()\n"
        "print(sandbox._process.pid, flush=True)\n"
        "sandbox.run([[0.0] * 4])\n"
    )
    worker = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        text=True,
        cwd=_ROOT,
        env={**os.environ, "PYTHONPATH": str(_ROOT)},
    )
    try:
        child_pid = int(worker.stdout.readline())
        time.sleep(0.3)
        assert _running(child_pid)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _running(child_pid):
            time.sleep(0.05)
        assert not _running(child_pid)
    finally:
        worker.kill()
        worker.wait()
