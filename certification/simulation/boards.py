"""Emulated boards per Cortex-M core, with the memory map the firmware harness links against.

The regions here must match ``certification/firmware/harness/boards/<board>/memory.ld``; the
ELF check refuses a firmware whose ``__ep_input_block`` disagrees, i.e. one built for another
board. Add a core by adding a :class:`Board` (and its ``memory.ld``).
"""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1 << 20


@dataclass(frozen=True)
class MemoryRegion:
    name: str
    start: int
    size: int

    @property
    def end(self) -> int:
        return self.start + self.size

    def contains(self, address: int, length: int = 1) -> bool:
        return self.start <= address and address + length <= self.end


@dataclass(frozen=True)
class Board:
    """One MPS2 FPGA image as QEMU (``machine``) and Renode (generated platform) emulate it."""

    name: str
    machine: str
    core: str
    flash: MemoryRegion
    ram: MemoryRegion
    input_block: MemoryRegion
    uart0: int
    has_fpu: bool

    @property
    def loadable_regions(self) -> tuple[MemoryRegion, ...]:
        """Where an ELF may place its segments; the input block is the emulator's."""
        return (self.flash, self.ram)


def _armv7m_board(name: str, core: str, has_fpu: bool) -> Board:
    # AN385/AN386/AN500: ZBT SSRAM1 (code) at 0, ZBT SSRAM2/3 (data) at 0x20000000.
    return Board(
        name=name,
        machine=name,
        core=core,
        flash=MemoryRegion("flash", 0x0000_0000, 4 * MIB),
        ram=MemoryRegion("ram", 0x2000_0000, 2 * MIB),
        input_block=MemoryRegion("input", 0x2020_0000, 2 * MIB),
        uart0=0x4000_4000,
        has_fpu=has_fpu,
    )


BOARDS: dict[str, Board] = {
    "cortex-m3": _armv7m_board("mps2-an385", "cortex-m3", has_fpu=False),
    "cortex-m4": _armv7m_board("mps2-an386", "cortex-m4", has_fpu=True),
    "cortex-m7": _armv7m_board("mps2-an500", "cortex-m7", has_fpu=True),
    # AN505 boots secure, so the harness uses the secure aliases of SSRAM1, SSRAM2/3 and UART0.
    "cortex-m33": Board(
        name="mps2-an505",
        machine="mps2-an505",
        core="cortex-m33",
        flash=MemoryRegion("flash", 0x1000_0000, 4 * MIB),
        ram=MemoryRegion("ram", 0x3800_0000, 2 * MIB),
        input_block=MemoryRegion("input", 0x3820_0000, 2 * MIB),
        uart0=0x5020_0000,
        has_fpu=True,
    ),
}


def board_for_core(core: str) -> Board | None:
    """The board emulating ``core`` (case-insensitive, e.g. ``Cortex-M4``), if any."""
    return BOARDS.get(core.strip().lower())
