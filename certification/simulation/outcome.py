"""Turn a finished emulator process into a :class:`SimulationResult`, the same for every backend.

The order of the checks is the order of blame: an output flood, a semihosting attempt, a
timeout, a fault the firmware reported, an emulator that died, then violations of the harness
protocol (missing outputs, no EPDONE, the inference entry run more or fewer times than there
were inputs).
"""

from __future__ import annotations

from dataclasses import dataclass

from certification.simulation import harness_abi
from certification.simulation.base import ErrorCode, ExitReason, SimulationError, SimulationResult
from certification.simulation.harness_abi import UartReport
from certification.simulation.sandbox import ProcessOutcome

_SIGXCPU, _SIGXFSZ = 24, 25


@dataclass(frozen=True)
class InstructionReport:
    """The plugin's report: totals and the in-section count of each inference call."""

    total: int
    semihosting_traps: int
    calls: int
    per_call: list[int]


def classify_run(
    result: SimulationResult,
    outcome: ProcessOutcome,
    counts: InstructionReport | None,
    vector_count: int,
    output_size: int,
) -> None:
    """Fill ``result`` from the process outcome and counts; set its error on failure."""
    report = harness_abi.parse_uart(result.uart_log, vector_count, output_size)
    result.outputs = report.outputs
    if counts is not None:
        result.total_instructions = counts.total
        result.instruction_counts = counts.per_call
    try:
        _raise_first_failure(report, outcome, counts, vector_count)
    except SimulationError as exc:
        result.error_code, result.detail, result.exit_reason = exc.code, exc.detail, exc.exit_reason


def _raise_first_failure(
    report: UartReport, outcome: ProcessOutcome, counts: InstructionReport | None, vector_count: int
) -> None:
    if outcome.output_overflowed:
        raise SimulationError(
            ErrorCode.UART_OVERFLOW,
            f"the firmware wrote more than {len(outcome.output)} bytes to the UART",
            ExitReason.UART_OVERFLOW,
        )
    if counts is not None and counts.semihosting_traps:
        raise SimulationError(
            ErrorCode.SEMIHOSTING_BLOCKED,
            f"the firmware attempted {counts.semihosting_traps} semihosting call(s); "
            "semihosting is disabled",
            ExitReason.FAULT,
        )
    if outcome.timed_out:
        raise SimulationError(
            ErrorCode.FIRMWARE_TIMEOUT,
            f"no reset request within {outcome.duration_s:.1f} s",
            ExitReason.TIMEOUT,
        )
    if report.fault is not None:
        raise SimulationError(ErrorCode.FIRMWARE_FAULT, report.fault, ExitReason.FAULT)
    if outcome.returncode != 0:
        _raise_abnormal_exit(outcome)
    _check_protocol(report, counts, vector_count)


def _raise_abnormal_exit(outcome: ProcessOutcome) -> None:
    stderr = outcome.stderr.decode("utf-8", errors="replace").strip()
    returncode = outcome.returncode or 0
    if returncode < 0 and -returncode in (_SIGXCPU, _SIGXFSZ):
        raise SimulationError(
            ErrorCode.FIRMWARE_TIMEOUT, "the emulator hit its CPU or file limit", ExitReason.TIMEOUT
        )
    raise SimulationError(
        ErrorCode.SIMULATOR_ERROR,
        f"the emulator exited with status {returncode}: {stderr[-500:]}",
        ExitReason.SIMULATOR_FAILED,
    )


def _check_protocol(
    report: UartReport, counts: InstructionReport | None, vector_count: int
) -> None:
    def fail(detail: str) -> SimulationError:
        return SimulationError(ErrorCode.FIRMWARE_PROTOCOL, detail, ExitReason.RESET)

    if report.firmware_error is not None:
        raise fail(f"the firmware reported {report.firmware_error}")
    if report.problems:
        raise fail("; ".join(report.problems[:5]))
    missing = [i for i, output in enumerate(report.outputs) if output is None]
    if missing:
        raise fail(f"no output for input(s) {missing[:10]}")
    if report.done_count != vector_count:
        raise fail(f"EPDONE missing or wrong (expected EPDONE {vector_count})")
    if counts is None:
        raise SimulationError(
            ErrorCode.SIMULATOR_ERROR,
            "the instruction counter wrote no report",
            ExitReason.SIMULATOR_FAILED,
        )
    if counts.calls != vector_count:
        raise fail(f"ep_infer ran {counts.calls} time(s) for {vector_count} input(s)")
