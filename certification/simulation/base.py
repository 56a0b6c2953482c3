"""The simulation backend interface: run a firmware on an emulated board, get a result.

Backends (``qemu``, ``renode``) return a :class:`SimulationResult` for every outcome a firmware
can cause, hostile ones included; they raise only for programming errors. A result with an
``error_code`` is a failed run; :attr:`SimulationResult.is_infrastructure_error` tells a broken
or missing simulator (the stage ends as ``error``) from a firmware at fault (``fail``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from edgeplug.errors import DomainError


class ErrorCode(enum.StrEnum):
    """Stable machine-readable reasons a simulation run did not succeed."""

    FIRMWARE_INVALID = "firmware_invalid"
    FIRMWARE_TIMEOUT = "firmware_timeout"
    FIRMWARE_FAULT = "firmware_fault"
    FIRMWARE_PROTOCOL = "firmware_protocol"
    UART_OVERFLOW = "uart_overflow"
    SEMIHOSTING_BLOCKED = "semihosting_blocked"
    UNSUPPORTED_CORE = "unsupported_core"
    MODEL_TOO_WIDE_FOR_HARNESS = "model_too_wide_for_harness"
    SIMULATOR_UNAVAILABLE = "simulator_unavailable"
    SIMULATOR_ERROR = "simulator_error"


INFRASTRUCTURE_ERRORS = frozenset({ErrorCode.SIMULATOR_UNAVAILABLE, ErrorCode.SIMULATOR_ERROR})


class ExitReason(enum.StrEnum):
    """How the emulated run ended."""

    COMPLETED = "completed"  # the harness printed EPDONE and requested a reset
    RESET = "reset"  # a reset request without a complete, well-formed result
    FAULT = "fault"
    TIMEOUT = "timeout"
    UART_OVERFLOW = "uart_overflow"
    NOT_STARTED = "not_started"
    SIMULATOR_FAILED = "simulator_failed"


class SimulationError(DomainError, status=422):
    """Raised inside a backend to end a run early; turned into a result at the boundary."""

    def __init__(self, code: ErrorCode, detail: str, exit_reason: ExitReason) -> None:
        super().__init__(detail, code=code)
        self.exit_reason = exit_reason


@dataclass(frozen=True)
class SimulationLimits:
    """Resource limits for one emulator process.

    ``timeout_s`` is wall-clock; ``cpu_s`` and ``memory_bytes`` become RLIMIT_CPU and
    RLIMIT_AS; ``uart_cap_bytes`` bounds the captured UART output (a flood is cut there).
    """

    timeout_s: float = 20.0
    cpu_s: int = 30
    memory_bytes: int = 1 << 30
    uart_cap_bytes: int = 256 * 1024
    file_cap_bytes: int = 64 << 20


@dataclass
class SimulationResult:
    """Everything a certification stage needs from one run.

    ``outputs[i]`` is the firmware's output for input ``i`` (``None`` if it never printed
    one); ``instruction_counts[i]`` is the emulator-counted number of instructions executed
    inside the inference section during call ``i``.
    """

    backend: str
    core: str
    board: str
    exit_reason: ExitReason
    error_code: ErrorCode | None = None
    detail: str = ""
    outputs: list[bytes | None] = field(default_factory=list)
    instruction_counts: list[int] = field(default_factory=list)
    total_instructions: int | None = None
    uart_log: str = ""
    uart_truncated: bool = False
    duration_s: float = 0.0
    sandbox: str = ""

    @property
    def ok(self) -> bool:
        return self.error_code is None

    @property
    def is_infrastructure_error(self) -> bool:
        return self.error_code in INFRASTRUCTURE_ERRORS
