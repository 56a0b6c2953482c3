"""Sandbox child: runs one untrusted model in TensorFlow Lite Micro and answers over a pipe.

Started only by :mod:`certification.tflm.sandbox` as
``python -m certification.tflm.child CONFIG_JSON``. Before it reads a single byte of the
model it confines itself: a fresh network namespace (no interfaces but a down loopback),
root dropped to ``nobody``, SIGKILL if the parent dies, and rlimits on CPU time, address
space, file size, open files and core dumps. Requests arrive as frames on stdin and answers
leave on the original stdout; stdout and stderr themselves point at the log file the parent
provides, because TFLM prints its diagnostics there.
"""

from __future__ import annotations

import base64
import ctypes
import json
import math
import os
import resource
import signal
import sys
import time
from typing import Any

from certification.tflm import protocol

_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000
_PR_SET_PDEATHSIG = 1
_NOBODY = 65534
_LOG_TAIL_BYTES = 4096

_INT_RANGES = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767)}


class RequestFailed(Exception):
    """A request the child answers with an error code instead of a result."""

    def __init__(self, code: str, detail: str, fatal: bool = False) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.fatal = fatal


# ---------------------------------------------------------------------------------------------
# Confinement


def _interfaces() -> set[str]:
    with open("/proc/self/net/dev") as dev:
        return {line.split(":", 1)[0].strip() for line in dev.readlines()[2:]}


def _isolate_network(libc: ctypes.CDLL) -> dict[str, Any]:
    """Enter a new network namespace, privileged first, then as an unprivileged user ns."""
    errors = []
    for flags, method in (
        (_CLONE_NEWNET, "unshare(CLONE_NEWNET)"),
        (_CLONE_NEWUSER | _CLONE_NEWNET, "unshare(CLONE_NEWUSER|CLONE_NEWNET)"),
    ):
        if libc.unshare(flags) == 0:
            interfaces = _interfaces()
            return {
                "isolated": interfaces <= {"lo"},
                "method": method,
                "detail": "interfaces: " + ", ".join(sorted(interfaces)),
            }
        errors.append(f"{method}: {os.strerror(ctypes.get_errno())}")
    return {"isolated": False, "method": "none", "detail": "; ".join(errors)}


def _drop_privileges() -> dict[str, Any]:
    if os.geteuid() != 0:
        return {"dropped": False, "uid": os.geteuid(), "detail": "not running as root"}
    try:
        os.setgroups([])
        os.setgid(_NOBODY)
        os.setuid(_NOBODY)
    except OSError as exc:
        return {"dropped": False, "uid": os.geteuid(), "detail": str(exc)}
    return {"dropped": True, "uid": os.geteuid(), "detail": "running as nobody"}


def _apply_limits(config: dict[str, Any]) -> dict[str, int]:
    cpu = int(config["cpu_seconds"])
    limits = {
        "RLIMIT_CORE": (0, 0),
        # The soft limit delivers SIGXCPU; the hard one a SIGKILL a second later.
        "RLIMIT_CPU": (cpu, cpu + 1),
        "RLIMIT_AS": (int(config["memory_bytes"]),) * 2,
        "RLIMIT_FSIZE": (int(config["log_bytes"]),) * 2,
        "RLIMIT_NOFILE": (64, 64),
    }
    for name, value in limits.items():
        resource.setrlimit(getattr(resource, name), value)
    # Past RLIMIT_FSIZE, a log write should fail quietly rather than kill the child.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    return {name: value[0] for name, value in limits.items()}


# ---------------------------------------------------------------------------------------------
# Log capture


class _LogTap:
    """Reads what TFLM printed to the log file (fd 2) since a mark, when fd 2 is a file."""

    def __init__(self) -> None:
        self._mark = 0

    def mark(self) -> None:
        try:
            self._mark = os.lseek(2, 0, os.SEEK_END)
        except OSError:
            self._mark = -1

    def since_mark(self) -> str:
        if self._mark < 0:
            return ""
        try:
            end = os.lseek(2, 0, os.SEEK_END)
            start = max(self._mark, end - _LOG_TAIL_BYTES)
            return os.pread(2, end - start, start).decode(errors="replace")
        except OSError:
            return ""


# ---------------------------------------------------------------------------------------------
# Requests


def _round_half_away(values: Any) -> Any:
    import numpy as np

    return np.sign(values) * np.floor(np.abs(values) + 0.5)


def _details(raw: dict[str, Any], index: int) -> dict[str, Any]:
    quant = raw["quantization_parameters"]
    return {
        "index": index,
        "shape": [int(d) for d in raw["shape"]],
        "dtype": raw["dtype"].__name__,
        "scales": [float(s) for s in quant["scales"]],
        "zero_points": [int(z) for z in quant["zero_points"]],
        "quantized_dimension": int(quant["quantized_dimension"]),
    }


class _Server:
    def __init__(self, runtime: Any, graph: Any, log: _LogTap) -> None:
        self._runtime = runtime
        self._graph = graph
        self._log = log
        self._model: bytes | None = None
        self._interpreter: Any = None
        self._input: dict[str, Any] = {}
        self._output: dict[str, Any] = {}

    # -- load ---------------------------------------------------------------------------------

    def load(self, request: dict[str, Any]) -> dict[str, Any]:
        graph = self._graph
        model = base64.b64decode(request["model"])
        try:
            parsed = graph.parse(model)
            graph.check_structure(parsed)
            info = graph.describe_graph(parsed)
        except graph.InvalidModel as exc:
            raise RequestFailed("model_invalid", str(exc), fatal=True) from exc
        interpreter = self._construct(model, int(request["arena_bytes"]))
        main = parsed.subgraphs[0]
        inputs = [_details(interpreter.get_input_details(i), i) for i in range(len(main.inputs))]
        outputs = [_details(interpreter.get_output_details(i), i) for i in range(len(main.outputs))]
        self._model = model
        self._interpreter = interpreter
        self._input = inputs[0]
        self._output = outputs[0]
        return {
            "inputs": inputs,
            "outputs": outputs,
            "graph": {
                "subgraph_count": info.subgraph_count,
                "operators": [
                    {
                        "subgraph": op.subgraph,
                        "index": op.index,
                        "opcode": op.opcode,
                        "inputs": [None if t is None else vars(t) for t in op.inputs],
                        "outputs": [vars(t) for t in op.outputs],
                    }
                    for op in info.operators
                ],
            },
        }

    def _construct(self, model: bytes, arena_bytes: int) -> Any:
        self._log.mark()
        try:
            return self._runtime.Interpreter.from_bytes(model, arena_size=arena_bytes)
        except MemoryError as exc:
            raise RequestFailed(
                "model_memory_limit",
                f"allocating a {arena_bytes}-byte arena exceeded the address-space limit",
                fatal=True,
            ) from exc
        except RuntimeError as exc:
            raise self._classify_load_failure(exc, arena_bytes) from exc
        except (ValueError, IndexError, TypeError) as exc:
            detail = f"TFLM rejected the model: {exc}"
            raise RequestFailed("model_invalid", detail, fatal=True) from exc

    def _classify_load_failure(self, exc: RuntimeError, arena_bytes: int) -> RequestFailed:
        log = self._log.since_mark()
        if "Didn't find op" in log or "registration" in log.lower():
            return RequestFailed("model_unsupported_op", log.strip() or str(exc), fatal=True)
        if "Failed to allocate" in log or "Failed to resize buffer" in log:
            return RequestFailed(
                "model_arena_too_large",
                f"the model needs more than the {arena_bytes}-byte arena allowed",
                fatal=True,
            )
        return RequestFailed("model_invalid", log.strip() or str(exc), fatal=True)

    # -- run ----------------------------------------------------------------------------------

    def _require_model(self) -> None:
        if self._interpreter is None:
            raise RequestFailed("sandbox_request_invalid", "no model loaded")

    def _to_input_tensor(self, example: list[float], raw: bool) -> Any:
        import numpy as np

        details = self._input
        size = math.prod(details["shape"])
        if len(example) != size:
            raise RequestFailed(
                "sandbox_request_invalid", f"example has {len(example)} values, input needs {size}"
            )
        values = np.asarray(example, dtype=np.float64)
        dtype = np.dtype(details["dtype"])
        if details["dtype"] in _INT_RANGES:
            if not raw and details["scales"]:
                scale, zero_point = details["scales"][0], details["zero_points"][0]
                values = _round_half_away(values / scale) + zero_point
            # Clamp rather than let astype wrap 128 around to -128.
            values = np.clip(values, *_INT_RANGES[details["dtype"]])
        return values.astype(dtype).reshape(details["shape"])

    def _from_output_tensor(self, tensor: Any) -> tuple[list[Any], list[float]]:
        details = self._output
        raw = tensor.reshape(-1).tolist()
        if details["dtype"] in _INT_RANGES and details["scales"]:
            scale, zero_point = details["scales"][0], details["zero_points"][0]
            return raw, [(q - zero_point) * scale for q in raw]
        return raw, [float(v) for v in raw]

    def _invoke(self, tensor: Any) -> Any:
        self._interpreter.set_input(tensor, 0)
        self._log.mark()
        try:
            self._interpreter.invoke()
        except RuntimeError as exc:
            detail = self._log.since_mark().strip() or str(exc)
            raise RequestFailed("model_invoke_failed", detail) from exc
        return self._interpreter.get_output(0)

    def run(self, request: dict[str, Any]) -> dict[str, Any]:
        self._require_model()
        raw_in = bool(request.get("raw", False))
        outputs, raws = [], []
        for example in request["examples"]:
            raw, real = self._from_output_tensor(
                self._invoke(self._to_input_tensor(example, raw_in))
            )
            raws.append(raw)
            outputs.append(real)
        return {"outputs": outputs, "raw": raws}

    def time(self, request: dict[str, Any]) -> dict[str, Any]:
        self._require_model()
        tensor = self._to_input_tensor(request["example"], False)
        # Warm-up goes through _invoke so a failing model reports its TFLM error; the timed
        # loop then measures invoke() alone.
        for _ in range(max(1, int(request.get("warmup", 5)))):
            self._invoke(tensor)
        samples = []
        for _ in range(int(request["runs"])):
            start = time.perf_counter_ns()
            self._interpreter.invoke()
            samples.append(time.perf_counter_ns() - start)
        return {"samples_ns": samples}

    # -- arena search -------------------------------------------------------------------------

    def _probe(self, arena_bytes: int, seconds: int) -> bool:
        """Does TFLM allocate the model in this arena? Asked in a forked grandchild.

        Too small an arena can crash TFLM outright (a segfault in its allocator), so every
        probe runs in its own process; an alarm bounds it.
        """
        pid = os.fork()
        if pid == 0:
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 1)
                os.dup2(devnull, 2)
                signal.alarm(seconds)
                self._runtime.Interpreter.from_bytes(self._model, arena_size=arena_bytes)
            except BaseException:  # noqa: BLE001 - any failure means "does not fit"
                os._exit(1)
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status) == 0

    def arena(self, request: dict[str, Any]) -> dict[str, Any]:
        self._require_model()
        step = int(request.get("step", 16))
        seconds = int(request.get("probe_seconds", 5))
        high = int(request["max_bytes"]) // step
        probes = 1
        if not self._probe(high * step, seconds):
            return {"smallest": None, "probes": probes}
        low = 0  # in steps; invariant: low does not fit, high fits
        while high - low > 1:
            middle = (low + high) // 2
            probes += 1
            if self._probe(middle * step, seconds):
                high = middle
            else:
                low = middle
        return {"smallest": high * step, "probes": probes}


# ---------------------------------------------------------------------------------------------
# Main loop


def _serve(server: _Server, requests_fd: int, replies_fd: int) -> int:
    handlers = {
        "load": server.load,
        "run": server.run,
        "time": server.time,
        "arena": server.arena,
    }
    while True:
        try:
            request = protocol.read_message(requests_fd)
        except protocol.ProtocolError:
            return 0  # the parent closed the pipe: done
        handler = handlers.get(request.get("op", ""))
        try:
            if handler is None:
                raise RequestFailed("sandbox_request_invalid", f"unknown op {request.get('op')!r}")
            reply: dict[str, Any] = {"ok": True, **handler(request)}
        except RequestFailed as failure:
            reply = {"ok": False, "code": failure.code, "detail": failure.detail}
            reply["fatal"] = failure.fatal
        except MemoryError:
            reply = {
                "ok": False,
                "code": "model_memory_limit",
                "detail": "the child ran out of address space",
                "fatal": True,
            }
        except Exception as exc:  # noqa: BLE001 - whatever the model provoked gets an answer
            reply = {
                "ok": False,
                "code": "model_crashed",
                "detail": f"the child failed handling {request.get('op')!r}: {exc!r}",
                "fatal": True,
            }
        protocol.write_message(replies_fd, reply)
        if not reply["ok"] and reply["fatal"]:
            return 1


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv if argv is None else argv
    config = json.loads(argv[1])
    replies_fd = os.dup(1)
    # From here on, anything printed (TFLM diagnostics included) goes to the log, not the pipe.
    os.dup2(2, 1)
    libc = ctypes.CDLL(None, use_errno=True)
    network = _isolate_network(libc)

    # Imported after unshare (a user namespace needs a single-threaded process) and before
    # the uid change and the address-space limit, which the imports would otherwise run into.
    import numpy  # noqa: F401
    from tflite_micro import runtime

    from certification.tflm import graph

    privileges = _drop_privileges()
    limits = _apply_limits(config)
    # Set after the uid change, which clears it; the child must not outlive its parent.
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != config["parent_pid"]:
        return 1
    protocol.write_message(
        replies_fd,
        {"ok": True, "network": network, "privileges": privileges, "limits": limits},
    )
    return _serve(_Server(runtime, graph, _LogTap()), 0, replies_fd)


if __name__ == "__main__":
    sys.exit(main())
