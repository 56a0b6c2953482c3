"""`manage.py grpcserver` serves health checks, as one process or several sharing the port,
replaces a server process that dies, refuses a port already held, and stops cleanly on
SIGTERM (or by itself, when its supervisor is killed)."""

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from django.conf import settings
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.processes import wait_for

pytestmark = pytest.mark.slow


def _start(*args: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "grpcserver", "--grace", "1", *args],
        cwd=settings.BASE_DIR,
        env={**os.environ, "PYTHONPATH": str(settings.BASE_DIR), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _serving_port(proc: subprocess.Popen) -> int:
    """The port the command says it serves on, once it says so: what it printed before (a
    start-up check's warning, such as ``health.W001`` where no METRICS_TOKEN is set) is
    read past; it ending without saying so fails with all it printed."""
    printed = []
    for line in proc.stdout:
        if "gRPC serving on 127.0.0.1:" in line:
            return int(line.split("127.0.0.1:")[1].split()[0])
        printed.append(line)
    raise AssertionError("".join(printed) or "grpcserver ended without a word")


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


def _listens_on(pid: int, port: int) -> bool:
    """Whether the process holds a socket listening on ``port`` (its fds against the kernel's
    table of TCP sockets; state 0A is LISTEN)."""
    inodes = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":
                inodes.add(fields[9])
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            return True
    return False


def _stopped(proc: subprocess.Popen) -> tuple[int, str]:
    """SIGTERM, then the exit code and everything the command printed."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=30)
    return proc.returncode, output


@pytest.mark.parametrize("processes", [1, 2])
def test_grpcserver_serves_and_stops_on_sigterm(processes):
    proc = _start("--address", "127.0.0.1:0", "--processes", str(processes))
    servers = []
    try:
        port = _serving_port(proc)
        servers = _children(proc.pid)
        assert len(servers) == (processes if processes > 1 else 0)
        # Every server process listens on the one port; the command itself (which must not
        # run gRPC before it forks) does not, when it forks.
        for pid in servers:
            assert _listens_on(pid, port)
        assert _listens_on(proc.pid, port) == (processes == 1)
        for _ in range(4):
            assert _check(port) == health_pb2.HealthCheckResponse.SERVING
    finally:
        code, output = _stopped(proc)
    assert code == 0, output
    assert "did not stop in time" not in output  # each stopped on SIGTERM, none was killed
    for pid in servers:  # and was reaped before the command ended
        assert not Path(f"/proc/{pid}").exists()


def test_a_server_process_that_dies_is_replaced():
    proc = _start("--address", "127.0.0.1:0", "--processes", "2")
    try:
        port = _serving_port(proc)
        first = _children(proc.pid)
        os.kill(first[0], signal.SIGKILL)
        assert wait_for(
            lambda: (
                len(now := _children(proc.pid)) == 2
                and first[0] not in now
                and all(_listens_on(pid, port) for pid in now)
            )
        ), _children(proc.pid)
        assert first[1] in _children(proc.pid)
        for _ in range(4):
            assert _check(port) == health_pb2.HealthCheckResponse.SERVING
    finally:
        code, output = _stopped(proc)
    assert code == 0, output
    assert f"gRPC server process {first[0]} exited with code -9; starting another" in output


def test_server_processes_stop_when_their_supervisor_is_killed():
    proc = _start("--address", "127.0.0.1:0", "--processes", "2")
    try:
        _serving_port(proc)
        servers = _children(proc.pid)
        proc.kill()
        proc.wait(timeout=10)
        assert wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in servers))
    finally:
        for pid in servers:
            if Path(f"/proc/{pid}").exists():
                os.kill(pid, signal.SIGKILL)
        proc.communicate(timeout=10)


def test_a_server_process_that_cannot_start_stops_the_command():
    proc = _start(
        "--address",
        "127.0.0.1:0",
        "--processes",
        "2",
        GRPC_TLS_CERT_FILE="/nonexistent/cert.pem",
        GRPC_TLS_KEY_FILE="/nonexistent/key.pem",
    )
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1, output
    assert "A gRPC server process failed to start: FileNotFoundError" in output, output
    assert "gRPC serving on" not in output


@pytest.mark.parametrize("reuse_port", [False, True], ids=["plain", "SO_REUSEPORT"])
def test_a_port_in_use_is_a_clear_error(reuse_port):
    """Another program's listener, or another grpcserver's (which binds with SO_REUSEPORT and
    would otherwise share the port with this one), makes the command refuse to start."""
    with socket.socket() as taken:
        if reuse_port:
            taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for processes in ("1", "2"):
            proc = _start("--address", f"127.0.0.1:{port}", "--processes", processes)
            output, _ = proc.communicate(timeout=60)
            assert proc.returncode == 1, output
            assert f"Cannot serve on 127.0.0.1:{port}" in output, output
            assert ".." not in output, output  # gRPC's message ends with one full stop more


@pytest.mark.parametrize(
    ("address", "processes", "message"),
    [
        # Wrong usage (exit 2), as argparse says it; the others cannot serve (exit 1).
        ("127.0.0.1:0", "0", "--processes: '0' is not a whole number of at least 1"),
        ("127.0.0.1:port", "2", "Cannot serve on 127.0.0.1:port"),
        ("no-such-host.invalid:0", "2", "Cannot serve on no-such-host.invalid:0"),
    ],
)
def test_bad_arguments_are_clear_errors(address, processes, message):
    code, output = _refused("--address", address, "--processes", processes)
    assert code == (2 if "--processes" in message else 1), output
    assert message in output, output


@pytest.mark.parametrize("grace", ["nan", "-1", "inf", "ten"])
def test_a_grace_that_is_no_number_of_seconds_is_refused_before_serving(grace):
    """``--grace`` took any float: with ``nan`` the supervisor's deadline on SIGTERM was NaN,
    so it killed every server process at once instead of letting them finish their calls,
    and exited 0. Wrong usage now (exit 2), as ``--processes 0`` is, before anything runs."""
    proc = _start("--address", "127.0.0.1:0", "--processes", "2", "--grace", grace)
    try:
        output, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        code, output = _stopped(proc)
        pytest.fail(f"served with --grace {grace}; on SIGTERM it exited {code}:\n{output}")
    assert proc.returncode == 2, output
    assert f"--grace: {grace!r} is not a number of seconds of at least 0" in output, output
    assert "Traceback" not in output and "gRPC serving" not in output, output


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1:-1", "give host:port"),
        ("127.0.0.1:70000", "the port must be from 0 to 65535"),
        ("127.0.0.1", "give host:port"),
        ("", "give host:port"),
    ],
)
def test_an_address_grpc_reads_its_own_way_is_refused_in_one_process_too(address, why):
    """gRPC's own reading served these on 65535, 4464, 443 and 50051 (one process); several
    processes refused them. Said alike now."""
    code, output = _refused("--address", address, "--processes", "1")
    assert code == 1, output
    assert f"Cannot serve on {address or chr(34) * 2}: {why}" in output, output


def _refused(*args: str) -> tuple[int, str]:
    """The command's exit code and output, given ``args``; never a traceback."""
    proc = _start(*args)
    output, _ = proc.communicate(timeout=60)
    assert "Traceback" not in output, output
    return proc.returncode, output
