"""The QEMU backend: harness firmware on Debian's ``qemu-system-arm`` MPS2 boards.

Deterministic (``-icount shift=0``), no network devices, semihosting explicitly off and QEMU's
own seccomp sandbox denying process creation, run under :func:`sandbox.run_confined`. Inputs go
in through ``-device loader``, outputs come back on UART0 (QEMU's stdout), and the run ends when
the firmware requests a reset (``-no-reboot``). The instruction counts come from the
``insn_count`` TCG plugin built from ``certification/qemu_plugin``, never from the firmware.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from certification.simulation.backend import SimulationBackend
from certification.simulation.boards import Board
from certification.simulation.firmware_image import FirmwareImage
from certification.simulation.outcome import InstructionReport
from certification.simulation.sandbox import run_confined

DEFAULT_PLUGIN = Path(__file__).resolve().parents[1] / "qemu_plugin" / "build" / "libinsn_count.so"
# QEMU reserves a 1 GiB translation cache by default; 64 MiB lets RLIMIT_AS stay tight.
_TB_CACHE_MIB = 64
_SECCOMP = "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"
_COUNT_LINE = re.compile(r"EPCOUNT (\w+) (\d+)(?: (\d+))?")


def parse_instruction_report(text: str) -> InstructionReport | None:
    """Parse the ``EPCOUNT`` lines of the plugin; ``None`` if the report is incomplete."""
    values: dict[str, int] = {}
    per_call: dict[int, int] = {}
    for line in text.splitlines():
        match = _COUNT_LINE.fullmatch(line.strip())
        if match is None:
            continue
        key, first, second = match.groups()
        if key == "call" and second is not None:
            per_call[int(first)] = int(second)
        else:
            values[key] = int(first)
    if values.get("version") != 1 or not {"total", "semihosting", "calls"} <= values.keys():
        return None
    return InstructionReport(
        total=values["total"],
        semihosting_traps=values["semihosting"],
        calls=values["calls"],
        per_call=[per_call[i] for i in sorted(per_call)],
    )


class QemuBackend(SimulationBackend):
    name = "qemu"

    def __init__(
        self,
        *,
        qemu_binary: str = "qemu-system-arm",
        plugin_path: Path = DEFAULT_PLUGIN,
        **common,
    ) -> None:
        super().__init__(**common)
        self.qemu_binary = qemu_binary
        self.plugin_path = plugin_path

    def unavailable_reason(self) -> str | None:
        if shutil.which(self.qemu_binary) is None:
            return f"{self.qemu_binary} is not installed"
        if not self.plugin_path.is_file():
            return (
                f"the instruction-count plugin {self.plugin_path} is not built "
                "(make -C certification/qemu_plugin)"
            )
        return None

    def command(self, board: Board, image: FirmwareImage, workdir: Path) -> list[str]:
        """The QEMU command line for ``image`` copied into ``workdir`` with its inputs."""
        plugin = (
            f"{self.plugin_path},start={image.infer_start:#x},end={image.infer_end:#x},"
            f"entry={image.infer_entry:#x},out={workdir / 'counts.txt'}"
        )
        return [
            self.qemu_binary,
            "-M",
            board.machine,
            "-nographic",
            "-nodefaults",
            "-monitor",
            "none",
            "-serial",
            "stdio",
            "-icount",
            "shift=0",
            "-accel",
            f"tcg,tb-size={_TB_CACHE_MIB}",
            "-no-reboot",
            "-semihosting-config",
            "enable=off",
            "-sandbox",
            _SECCOMP,
            "-plugin",
            plugin,
            "-kernel",
            str(workdir / "firmware.elf"),
            "-device",
            f"loader,file={workdir / 'inputs.bin'},addr={board.input_block.start:#x},force-raw=on",
        ]

    def _emulate(self, board, image, workdir, limits):
        outcome = run_confined(
            self.command(board, image, workdir),
            workdir,
            limits,
            read_only_paths=[self.plugin_path.resolve()],
            use_bubblewrap=self.use_bubblewrap,
        )
        counts_file = workdir / "counts.txt"
        counts = counts_file.read_text(errors="replace") if counts_file.is_file() else ""
        return outcome, parse_instruction_report(counts)
