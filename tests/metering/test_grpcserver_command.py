"""`manage.py grpcserver` serves health checks, as one process or several sharing the port,
replaces a server process that dies, and stops cleanly on SIGTERM."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest
from django.conf import settings
from grpc_health.v1 import health_pb2, health_pb2_grpc

pytestmark = pytest.mark.slow


def _start(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "grpcserver", "--grace", "1", *args],
        cwd=settings.BASE_DIR,
        env={**os.environ, "PYTHONPATH": str(settings.BASE_DIR)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _serving_port(proc: subprocess.Popen) -> int:
    line = proc.stdout.readline()
    assert "gRPC serving on 127.0.0.1:" in line, line
    return int(line.split("127.0.0.1:")[1].split()[0])


def _check(port: int) -> int:
    """One health check on a new connection (the kernel picks the process for each)."""
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        return (
            health_pb2_grpc.HealthStub(channel)
            .Check(health_pb2.HealthCheckRequest(), timeout=10)
            .status
        )


def _children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _stop(proc: subprocess.Popen) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=30)


@pytest.mark.parametrize("processes", [1, 2])
def test_grpcserver_serves_and_stops_on_sigterm(processes):
    proc = _start("--address", "127.0.0.1:0", "--processes", str(processes))
    try:
        port = _serving_port(proc)
        for _ in range(4):
            assert _check(port) == health_pb2.HealthCheckResponse.SERVING
        servers = _children(proc.pid)
        assert len(servers) == (processes if processes > 1 else 0)
    finally:
        assert _stop(proc) == 0
    for pid in servers:  # every server process ended (and was reaped) before the command
        assert not Path(f"/proc/{pid}").exists()


def test_a_server_process_that_dies_is_replaced():
    proc = _start("--address", "127.0.0.1:0", "--processes", "2")
    try:
        port = _serving_port(proc)
        first = _children(proc.pid)
        os.kill(first[0], signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            now = _children(proc.pid)
            if len(now) == 2 and first[0] not in now:
                break
            time.sleep(0.1)
        assert len(now) == 2 and first[0] not in now and first[1] in now, (first, now)
        for _ in range(4):
            assert _check(port) == health_pb2.HealthCheckResponse.SERVING
    finally:
        assert _stop(proc) == 0
    output = proc.stdout.read()
    assert f"gRPC server process {first[0]} exited with code -9; starting another" in output


def test_a_port_in_use_is_a_clear_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for processes in ("1", "2"):
            proc = _start("--address", f"127.0.0.1:{port}", "--processes", processes)
            output, _ = proc.communicate(timeout=60)
            assert proc.returncode == 1, output
            assert f"Cannot serve on 127.0.0.1:{port}" in output, output


def test_processes_must_be_positive():
    proc = _start("--address", "127.0.0.1:0", "--processes", "0")
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "--processes must be at least 1." in output
