"""Run an emulator process confined: time, CPU, memory and output limits, and no network.

Always enforced: a wall-clock deadline (the whole process group is killed), RLIMIT_CPU,
RLIMIT_AS, RLIMIT_FSIZE, no core dumps, an empty environment apart from PATH and LANG, stdin
from /dev/null, and a cap on the captured console/UART bytes. When bubblewrap (``bwrap``)
works on this machine the process also runs in fresh network, PID, IPC and UTS namespaces with
all capabilities dropped, a read-only view of the file system, a private /tmp and only its work
directory writable.
"""

from __future__ import annotations

import contextlib
import functools
import os
import resource
import selectors
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from certification.simulation.base import SimulationLimits

SANDBOX_BUBBLEWRAP = "bubblewrap"
SANDBOX_RLIMITS = "rlimits"
_STDERR_CAP = 64 * 1024
_POLL_S = 0.05
_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}


@dataclass
class ProcessOutcome:
    """How a confined process ended and what it printed (both streams capped)."""

    returncode: int | None
    output: bytes
    stderr: bytes
    timed_out: bool
    output_overflowed: bool
    stopped_on_request: bool
    duration_s: float
    sandbox: str


@functools.cache
def bubblewrap_works() -> bool:
    """Whether ``bwrap`` is installed and can create namespaces here (containers may forbid it)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return False
    probe = [bwrap, "--unshare-all", "--ro-bind", "/", "/", "--dev", "/dev", "true"]
    try:
        completed = subprocess.run(probe, capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return completed.returncode == 0


def _bubblewrap_prefix(workdir: Path, read_only_paths: Sequence[Path]) -> list[str]:
    prefix = [
        "bwrap",
        "--die-with-parent",
        "--unshare-all",
        "--cap-drop",
        "ALL",
        "--ro-bind",
        "/",
        "/",
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        "--tmpfs",
        "/tmp",  # noqa: S108 - a fresh private /tmp inside the sandbox, not a host path
    ]
    # Mounted after the private /tmp, so files and the work directory under /tmp stay visible.
    for path in read_only_paths:
        prefix += ["--ro-bind", str(path), str(path)]
    prefix += ["--bind", str(workdir), str(workdir), "--chdir", str(workdir), "--"]
    return prefix


def _limit_resources(limits: SimulationLimits) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 5))
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_cap_bytes, limits.file_cap_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


class _Capture:
    """Collects at most ``cap`` bytes; remembers whether more arrived."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.data = bytearray()
        self.overflowed = False

    def add(self, chunk: bytes) -> None:
        room = self.cap - len(self.data)
        if len(chunk) > room:
            self.overflowed = True
        self.data += chunk[: max(room, 0)]


class _FileTail:
    """Reads what a process appends to a file it writes (a UART file backend)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def read_new(self) -> bytes:
        try:
            with self.path.open("rb") as stream:
                stream.seek(self.offset)
                chunk = stream.read(1 << 20)
        except FileNotFoundError:
            return b""
        self.offset += len(chunk)
        return chunk


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def run_confined(
    argv: Sequence[str],
    workdir: Path,
    limits: SimulationLimits,
    *,
    read_only_paths: Sequence[Path] = (),
    output_file: Path | None = None,
    stop_file: Path | None = None,
    use_bubblewrap: bool | None = None,
) -> ProcessOutcome:
    """Run ``argv`` in ``workdir`` under the limits and return how it ended.

    The captured output is the process's stdout, or what it appends to ``output_file`` when
    given. More than ``limits.uart_cap_bytes`` of it kills the process (``output_overflowed``);
    the appearance of ``stop_file`` (written by the emulator's own end-of-run hook) ends it
    early as a normal stop.
    """
    sandboxed = bubblewrap_works() if use_bubblewrap is None else use_bubblewrap
    command = list(argv)
    if sandboxed:
        command = _bubblewrap_prefix(workdir, read_only_paths) + command
    started = time.monotonic()
    deadline = started + limits.timeout_s
    output = _Capture(limits.uart_cap_bytes)
    stderr = _Capture(_STDERR_CAP)
    tail = _FileTail(output_file) if output_file is not None else None
    timed_out = stopped = False
    process = subprocess.Popen(
        command,
        cwd=workdir,
        env=_ENV,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        # The limits must bind before exec; the emulator never runs unlimited.
        preexec_fn=_limit_resources(limits),
    )
    assert process.stdout is not None and process.stderr is not None
    sinks = {process.stdout: stderr if tail is not None else output, process.stderr: stderr}
    with selectors.DefaultSelector() as selector:
        for stream in sinks:
            selector.register(stream, selectors.EVENT_READ)
        while True:
            for key, _ in selector.select(timeout=_POLL_S):
                chunk = os.read(key.fd, 65536)
                if chunk:
                    sinks[key.fileobj].add(chunk)  # type: ignore[index]
                else:
                    selector.unregister(key.fileobj)
            if tail is not None:
                output.add(tail.read_new())
            if output.overflowed:
                break
            if stop_file is not None and stop_file.exists():
                stopped = True
                break
            if time.monotonic() >= deadline:
                timed_out = True
                break
            if not selector.get_map():
                if process.poll() is not None:
                    break
                # Both pipes closed but the process lives on: wait for it without spinning.
                time.sleep(_POLL_S)
    if timed_out or output.overflowed or stopped:
        _kill_group(process)
    returncode = process.wait()
    if tail is not None and not (timed_out or output.overflowed):
        output.add(tail.read_new())
    process.stdout.close()
    process.stderr.close()
    return ProcessOutcome(
        returncode=returncode,
        output=bytes(output.data),
        stderr=bytes(stderr.data),
        timed_out=timed_out,
        output_overflowed=output.overflowed,
        stopped_on_request=stopped,
        duration_s=time.monotonic() - started,
        sandbox=SANDBOX_BUBBLEWRAP if sandboxed else SANDBOX_RLIMITS,
    )
