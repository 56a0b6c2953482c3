"""Run an untrusted ``.tflite`` model in TensorFlow Lite Micro inside a confined child process.

The worker never loads a vendor's model itself. :class:`ModelSandbox` starts
``python -m certification.tflm.child`` in its own session with a minimal environment, talks
to it over a pipe (one process per model, many requests, so Hypothesis examples do not each
pay a process start), enforces a wall-clock deadline per request and kills the whole process
group when one passes. The child confines itself (see :mod:`certification.tflm.child`).
Whatever the model does, hang, crash, exhaust memory or fail to parse, the caller gets a
:class:`SandboxError` with a stable ``code``, never a dead worker.

Error codes:

``model_invalid``          not a well-formed TFLite flatbuffer, or TFLM refused to prepare it
``model_unsupported_op``   uses an operator TFLM's resolver does not have
``model_arena_too_large``  needs a tensor arena larger than the limit
``model_memory_limit``     exceeded the child's address-space limit
``model_timeout``          a request passed its wall-clock deadline, or the CPU limit hit
``model_crashed``          the child died of a signal (segfault, abort ...) or failed inside
``model_invoke_failed``    TFLM's Invoke returned an error
``model_io_unsupported``   not exactly one input and one output tensor
``model_too_large_for_sandbox`` the model, or an input of its shape, exceeds the pipe's frame
``sandbox_unavailable``    the child could not start (an infrastructure error, retry-worthy)
``sandbox_request_invalid`` the caller sent a malformed request (a bug on our side)
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from certification.tflm import protocol
from certification.tflm.graph import GraphInfo, OperatorInfo, TensorInfo
from edgeplug.errors import DomainError

_PROJECT_ROOT = Path(__file__).resolve().parents[2]
_LOG_TAIL_BYTES = 4096
_CRASH_SIGNALS = {signal.SIGSEGV, signal.SIGBUS, signal.SIGABRT, signal.SIGFPE, signal.SIGILL}


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits for one child. CPU time covers the child's whole life."""

    cpu_seconds: int = 120
    memory_bytes: int = 1 << 30
    wall_seconds: float = 30.0
    startup_seconds: float = 30.0
    arena_bytes: int = 16 << 20
    log_bytes: int = 1 << 20


# The child could not start: the machine's fault, not the model's (a stage retries it).
SANDBOX_UNAVAILABLE = "sandbox_unavailable"
# A request (the model in base64, or an input of its shape) larger than one pipe frame.
MODEL_TOO_LARGE_FOR_SANDBOX = "model_too_large_for_sandbox"


class SandboxError(DomainError, status=422):
    """The model (or, for ``SANDBOX_UNAVAILABLE``, the machine) made the sandbox fail."""

    def __init__(self, code: str, detail: str, log_tail: str = "") -> None:
        super().__init__(detail, code=code)
        self.log_tail = log_tail


@dataclass(frozen=True)
class Isolation:
    """What the child managed to enforce on itself, as it reported it."""

    network_isolated: bool
    network_method: str
    network_detail: str
    privileges_dropped: bool
    uid: int
    limits: dict[str, int]


@dataclass(frozen=True)
class TensorDetails:
    index: int
    shape: tuple[int, ...]
    dtype: str
    scales: tuple[float, ...]
    zero_points: tuple[int, ...]
    quantized_dimension: int

    @property
    def size(self) -> int:
        count = 1
        for dim in self.shape:
            count *= dim
        return count


@dataclass(frozen=True)
class ModelDescription:
    size_bytes: int
    inputs: tuple[TensorDetails, ...]
    outputs: tuple[TensorDetails, ...]
    graph: GraphInfo

    @property
    def op_set(self) -> tuple[str, ...]:
        return self.graph.op_set


@dataclass(frozen=True)
class Inference:
    """One example's output: ``values`` in real units (dequantized), ``raw`` as the tensor holds."""

    values: tuple[float, ...]
    raw: tuple[float | int, ...]


@dataclass(frozen=True)
class ArenaSearch:
    """The smallest tensor arena TFLM allocates the model in, found by bisection."""

    smallest_bytes: int | None
    max_bytes: int
    step_bytes: int
    probes: int


@dataclass(frozen=True)
class HostLatency:
    """Wall time of ``invoke()`` on this host. Says nothing about a microcontroller."""

    runs: int
    p50_us: float
    p99_us: float
    mean_us: float
    label: str = "host-only"


@dataclass(frozen=True)
class InspectionResult:
    """Everything :func:`inspect_model` learned, or the code it failed with."""

    ok: bool
    error_code: str | None = None
    error_detail: str = ""
    log_tail: str = ""
    isolation: Isolation | None = None
    description: ModelDescription | None = None
    arena: ArenaSearch | None = None
    latency: HostLatency | None = None
    elapsed_seconds: float = 0.0


def _tensor_details(raw: dict[str, Any]) -> TensorDetails:
    return TensorDetails(
        index=raw["index"],
        shape=tuple(raw["shape"]),
        dtype=raw["dtype"],
        scales=tuple(raw["scales"]),
        zero_points=tuple(raw["zero_points"]),
        quantized_dimension=raw["quantized_dimension"],
    )


def _tensor_info(raw: dict[str, Any]) -> TensorInfo:
    return TensorInfo(
        index=raw["index"],
        name=raw["name"],
        shape=tuple(raw["shape"]),
        dtype=raw["dtype"],
        is_constant=raw["is_constant"],
    )


def _graph_info(raw: dict[str, Any]) -> GraphInfo:
    return GraphInfo(
        subgraph_count=raw["subgraph_count"],
        operators=tuple(
            OperatorInfo(
                subgraph=op["subgraph"],
                index=op["index"],
                opcode=op["opcode"],
                inputs=tuple(None if t is None else _tensor_info(t) for t in op["inputs"]),
                outputs=tuple(_tensor_info(t) for t in op["outputs"]),
            )
            for op in raw["operators"]
        ),
    )


def _percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    rank = max(1, -(-len(sorted_values) * fraction // 1))
    return sorted_values[int(rank) - 1]


def _child_environment() -> dict[str, str]:
    """Only what Python needs to find our code: no secrets, proxies or credentials."""
    python_path = [str(_PROJECT_ROOT)]
    if os.environ.get("PYTHONPATH"):
        python_path.append(os.environ["PYTHONPATH"])
    return {
        "PATH": os.defpath,
        "PYTHONPATH": os.pathsep.join(python_path),
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "LANG": "C.UTF-8",
        # One thread: keeps the address space small and unshare(CLONE_NEWUSER) possible.
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
    }


class ModelSandbox:
    """One confined child holding one loaded model. Use as a context manager."""

    def __init__(self, model: bytes, limits: SandboxLimits | None = None) -> None:
        self.model = model
        self.limits = limits or SandboxLimits()
        self.isolation: Isolation | None = None
        self.description: ModelDescription | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir: str | None = None
        self._log: Any = None
        self._failure: SandboxError | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def __enter__(self) -> ModelSandbox:
        # ``with`` never calls __exit__ when __enter__ raises: a start that fails (no
        # interpreter, a model that will not load) would leave the child and its work dir.
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def start(self) -> ModelDescription:
        """Start the child, check its confinement report and load the model."""
        self._spawn()
        hello = self._receive(self.limits.startup_seconds, starting=True)
        self.isolation = Isolation(
            network_isolated=hello["network"]["isolated"],
            network_method=hello["network"]["method"],
            network_detail=hello["network"]["detail"],
            privileges_dropped=hello["privileges"]["dropped"],
            uid=hello["privileges"]["uid"],
            limits=hello["limits"],
        )
        loaded = self._request(
            {
                "op": "load",
                "model": base64.b64encode(self.model).decode(),
                "arena_bytes": self.limits.arena_bytes,
            }
        )
        self.description = ModelDescription(
            size_bytes=len(self.model),
            inputs=tuple(_tensor_details(t) for t in loaded["inputs"]),
            outputs=tuple(_tensor_details(t) for t in loaded["outputs"]),
            graph=_graph_info(loaded["graph"]),
        )
        return self.description

    def _spawn(self) -> None:
        self._workdir = tempfile.mkdtemp(prefix="edgeplug-tflm-")
        self._log = open(os.path.join(self._workdir, "child.log"), "w+b")  # noqa: SIM115
        config = {
            "cpu_seconds": self.limits.cpu_seconds,
            "memory_bytes": self.limits.memory_bytes,
            "log_bytes": self.limits.log_bytes,
            "parent_pid": os.getpid(),
        }
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "certification.tflm.child", json.dumps(config)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._log,
                cwd=self._workdir,
                env=_child_environment(),
                start_new_session=True,
                close_fds=True,
            )
        except OSError as exc:
            self._fail(SandboxError(SANDBOX_UNAVAILABLE, f"cannot start the child: {exc}"))

    def close(self) -> None:
        """Stop the child and everything it forked; idempotent."""
        process = self._process
        if process is not None:
            if process.stdin is not None and not process.stdin.closed:
                with contextlib.suppress(OSError):
                    process.stdin.close()
            # Killed at once, not left to exit: every answer has been read by now, and the
            # child has nothing else to give (its log is read on failure, before close). Its
            # interpreter shutdown (numpy, TFLM) cost each stage 0.05-0.3 s of wall time.
            self._kill_group()
            process.wait()
            if process.stdout is not None:
                process.stdout.close()
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def _kill_group(self) -> None:
        if self._process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._process.pid, signal.SIGKILL)

    # -- requests -----------------------------------------------------------------------------

    def run(self, examples: Sequence[Sequence[float]], raw: bool = False) -> list[Inference]:
        """Invoke the model once per example, in order, on the same interpreter.

        Examples are flat lists in real units (quantized here for int8 inputs), or tensor
        codes when ``raw`` is true.
        """
        self._require_single_io()
        reply = self._request(
            {"op": "run", "examples": [list(map(float, e)) for e in examples], "raw": raw}
        )
        return [
            Inference(values=tuple(values), raw=tuple(codes))
            for values, codes in zip(reply["outputs"], reply["raw"], strict=True)
        ]

    def find_smallest_arena(
        self, step_bytes: int = 16, max_bytes: int | None = None
    ) -> ArenaSearch:
        """Bisect the tensor-arena size; ``smallest_bytes`` is None past ``max_bytes``."""
        ceiling = max_bytes or self.limits.arena_bytes
        reply = self._request(
            {"op": "arena", "max_bytes": ceiling, "step": step_bytes, "probe_seconds": 5}
        )
        return ArenaSearch(
            smallest_bytes=reply["smallest"],
            max_bytes=ceiling,
            step_bytes=step_bytes,
            probes=reply["probes"],
        )

    def time_invoke(
        self, example: Sequence[float] | None = None, runs: int = 200, warmup: int = 10
    ) -> HostLatency:
        """Host wall time of invoke() over ``runs`` runs of one example (zeros by default)."""
        self._require_single_io()
        assert self.description is not None
        values = list(example) if example is not None else [0.0] * self.description.inputs[0].size
        reply = self._request({"op": "time", "example": values, "runs": runs, "warmup": warmup})
        samples = sorted(ns / 1000.0 for ns in reply["samples_ns"])
        return HostLatency(
            runs=len(samples),
            p50_us=_percentile(samples, 0.50),
            p99_us=_percentile(samples, 0.99),
            mean_us=sum(samples) / len(samples),
        )

    def _require_single_io(self) -> None:
        if self.description is None:
            raise SandboxError("sandbox_request_invalid", "the sandbox has not been started")
        if len(self.description.inputs) != 1 or len(self.description.outputs) != 1:
            raise SandboxError(
                "model_io_unsupported",
                f"the model has {len(self.description.inputs)} inputs and "
                f"{len(self.description.outputs)} outputs; exactly one of each is supported",
            )

    def _request(self, message: dict[str, Any]) -> dict[str, Any]:
        if self._failure is not None:
            raise self._failure
        assert self._process is not None and self._process.stdin is not None
        try:
            frame = protocol.encode(message)
        except protocol.ProtocolError as exc:
            # The model (or an input shaped by it) does not fit one frame of the pipe.
            raise SandboxError(MODEL_TOO_LARGE_FOR_SANDBOX, str(exc)) from exc
        try:
            self._process.stdin.write(frame)
            self._process.stdin.flush()
        except (BrokenPipeError, OSError):
            self._fail(self._classify_exit())
        reply = self._receive(self.limits.wall_seconds)
        if not reply.get("ok"):
            error = SandboxError(reply.get("code", "model_crashed"), reply.get("detail", ""))
            if reply.get("fatal", True):
                self._fail(error)
            raise error
        return reply

    def _receive(self, seconds: float, starting: bool = False) -> dict[str, Any]:
        if self._failure is not None:
            raise self._failure
        assert self._process is not None and self._process.stdout is not None
        deadline = time.monotonic() + seconds
        fd = self._process.stdout.fileno()
        buffer = bytearray()
        needed = protocol.HEADER_BYTES
        header_done = False
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while len(buffer) < needed:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    self._kill_group()
                    what = "start" if starting else "answer"
                    self._fail(
                        SandboxError("model_timeout", f"the child did not {what} in {seconds:g} s")
                    )
                chunk = os.read(fd, needed - len(buffer))
                if not chunk:
                    self._fail(
                        SandboxError(SANDBOX_UNAVAILABLE, "the child exited while starting")
                        if starting and self._exit_status_is_clean()
                        else self._classify_exit()
                    )
                buffer += chunk
                if not header_done and len(buffer) == protocol.HEADER_BYTES:
                    try:
                        needed += protocol.decode_length(bytes(buffer))
                    except protocol.ProtocolError as exc:
                        self._kill_group()
                        self._fail(SandboxError("model_crashed", str(exc)))
                    header_done = True
        try:
            return protocol.decode_body(bytes(buffer[protocol.HEADER_BYTES :]))
        except protocol.ProtocolError as exc:
            self._kill_group()
            self._fail(SandboxError("model_crashed", str(exc)))
            raise  # unreachable: _fail raises

    # -- failure handling ---------------------------------------------------------------------

    def _exit_status_is_clean(self) -> bool:
        assert self._process is not None
        try:
            return self._process.wait(timeout=5) >= 0
        except subprocess.TimeoutExpired:
            return False

    def _classify_exit(self) -> SandboxError:
        """Name the reason the child went away."""
        assert self._process is not None
        try:
            status = self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._kill_group()
            status = self._process.wait()
        if status < 0:
            sig = signal.Signals(-status)
            if sig == signal.SIGXCPU:
                return SandboxError(
                    "model_timeout", f"the child used up its {self.limits.cpu_seconds} s of CPU"
                )
            if sig in _CRASH_SIGNALS:
                return SandboxError("model_crashed", f"the child died of {sig.name}")
            return SandboxError("model_crashed", f"the child was killed by {sig.name}")
        return SandboxError("model_crashed", f"the child exited with status {status}")

    def _log_tail(self) -> str:
        if self._log is None:
            return ""
        try:
            self._log.flush()
            size = os.fstat(self._log.fileno()).st_size
            self._log.seek(max(0, size - _LOG_TAIL_BYTES))
            return self._log.read().decode(errors="replace")
        except (OSError, ValueError):
            return ""

    def _fail(self, error: SandboxError) -> None:
        """Record a terminal failure (with the child's log), stop the child, raise."""
        error.log_tail = self._log_tail()
        self._failure = error
        self._kill_group()
        raise error


def inspect_model(
    model: bytes,
    limits: SandboxLimits | None = None,
    latency_runs: int = 200,
    latency_example: Sequence[float] | None = None,
    find_arena: bool = True,
) -> InspectionResult:
    """Load the model in a sandbox, describe it, find its smallest arena (unless
    ``find_arena`` is false), time it on the host.

    Never raises for anything the model does: failures come back as ``error_code``.
    """
    started = time.monotonic()
    sandbox = ModelSandbox(model, limits)
    description = arena = latency = None
    try:
        description = sandbox.start()
        if find_arena:
            arena = sandbox.find_smallest_arena()
        if latency_runs:
            latency = sandbox.time_invoke(latency_example, runs=latency_runs)
    except SandboxError as error:
        return InspectionResult(
            ok=False,
            error_code=error.code,
            error_detail=error.detail,
            log_tail=error.log_tail,
            isolation=sandbox.isolation,
            description=description,
            arena=arena,
            elapsed_seconds=time.monotonic() - started,
        )
    finally:
        sandbox.close()
    return InspectionResult(
        ok=True,
        isolation=sandbox.isolation,
        description=description,
        arena=arena,
        latency=latency,
        elapsed_seconds=time.monotonic() - started,
    )
