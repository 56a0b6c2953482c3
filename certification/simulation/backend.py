"""The emulator interface and the one way a run goes: pick the board, pack the inputs,
check the firmware, copy it into a private directory, emulate, classify what happened.
A backend (QEMU, Renode) only says how to emulate."""

from __future__ import annotations

import abc
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from certification.simulation import harness_abi
from certification.simulation.base import (
    ErrorCode,
    ExitReason,
    SimulationLimits,
    SimulationResult,
)
from certification.simulation.boards import BOARDS, Board
from certification.simulation.firmware_image import FirmwareImage, FirmwareInvalid, inspect_firmware
from certification.simulation.harness_abi import Dtype
from certification.simulation.outcome import InstructionReport, classify_run
from certification.simulation.sandbox import ProcessOutcome


class SimulationBackend(abc.ABC):
    """An emulator able to run harness firmware for some Cortex-M cores."""

    name: str

    def __init__(
        self, *, boards: Mapping[str, Board] = BOARDS, use_bubblewrap: bool | None = None
    ) -> None:
        """``boards``: the board emulated for each core; ``use_bubblewrap``: confine the
        emulator with bubblewrap (None: whenever it works on this machine)."""
        self.boards = boards
        self.use_bubblewrap = use_bubblewrap

    def supported_cores(self) -> frozenset[str]:
        """The ``core`` values (manifest target profile) this backend can emulate."""
        return frozenset(self.boards)

    @abc.abstractmethod
    def unavailable_reason(self) -> str | None:
        """Why the emulator cannot run on this machine, or None when it can."""

    def is_available(self) -> bool:
        return self.unavailable_reason() is None

    @abc.abstractmethod
    def _emulate(
        self, board: Board, image: FirmwareImage, workdir: Path, limits: SimulationLimits
    ) -> tuple[ProcessOutcome, InstructionReport | None]:
        """Run ``workdir/firmware.elf`` with ``workdir/inputs.bin`` loaded; the confined
        process's outcome and the instructions counted in the inference function."""

    def _not_started(self, core: str, board: str, code: ErrorCode, detail: str) -> SimulationResult:
        """The result of a run refused before the emulator started."""
        return SimulationResult(
            backend=self.name,
            core=core,
            board=board,
            exit_reason=ExitReason.NOT_STARTED,
            error_code=code,
            detail=detail,
        )

    def run(
        self,
        elf_path: Path,
        core: str,
        inputs: Sequence[bytes],
        *,
        output_size: int,
        input_dtype: Dtype = Dtype.INT8,
        output_dtype: Dtype = Dtype.INT8,
        limits: SimulationLimits | None = None,
    ) -> SimulationResult:
        """Run the firmware on every input vector; never raises for firmware misbehaviour."""
        limits = limits or SimulationLimits()
        board = self.boards.get(core.strip().lower())
        if board is None or board.core not in self.supported_cores():
            return self._not_started(
                core, "", ErrorCode.UNSUPPORTED_CORE, f"no board emulates {core}"
            )
        # A model too wide for the harness ABI fails the run: a limit of the hardware level.
        try:
            block = harness_abi.pack_input_block(inputs, output_size, input_dtype, output_dtype)
        except harness_abi.TooWideForHarness as exc:
            return self._not_started(
                core, board.name, ErrorCode.MODEL_TOO_WIDE_FOR_HARNESS, str(exc)
            )
        if len(block) > board.input_block.size:
            return self._not_started(
                core,
                board.name,
                ErrorCode.MODEL_TOO_WIDE_FOR_HARNESS,
                f"{len(inputs)} input vectors need a {len(block)}-byte input block; "
                f"{board.name}'s holds {board.input_block.size} bytes",
            )
        reason = self.unavailable_reason()
        if reason is not None:
            return self._not_started(core, board.name, ErrorCode.SIMULATOR_UNAVAILABLE, reason)
        try:
            image = inspect_firmware(Path(elf_path), board)
        except FirmwareInvalid as exc:
            return self._not_started(core, board.name, ErrorCode.FIRMWARE_INVALID, str(exc))
        with tempfile.TemporaryDirectory(prefix=f"edgeplug-{self.name}-") as tmp:
            workdir = Path(tmp)
            # A private copy: the file the emulator runs is the file that was checked.
            shutil.copyfile(image.path, workdir / "firmware.elf")
            (workdir / "inputs.bin").write_bytes(block)
            outcome, counts = self._emulate(board, image, workdir, limits)
        result = SimulationResult(
            backend=self.name,
            core=core,
            board=board.name,
            exit_reason=ExitReason.COMPLETED,
            uart_log=outcome.output.decode("utf-8", errors="replace"),
            uart_truncated=outcome.output_overflowed,
            duration_s=outcome.duration_s,
            sandbox=outcome.sandbox,
        )
        classify_run(result, outcome, counts, len(inputs), output_size)
        return result
