"""Sanity checks on a vendor firmware ELF before it goes anywhere near an emulator.

The file is hostile until proven otherwise: every check is a small named predicate that raises
:class:`FirmwareInvalid` (code ``firmware_invalid``) with a reason a vendor can act on. What
survives is summarised as a :class:`FirmwareImage`: the inference section bounds and entry that
the instruction counter needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from certification.simulation.boards import Board
from edgeplug.errors import DomainError

MAX_FIRMWARE_BYTES = 8 << 20
INFER_SECTION = ".infer"
REQUIRED_SYMBOLS = ("__infer_start", "__infer_end", "ep_infer")


class FirmwareInvalid(DomainError, code="firmware_invalid", status=422):
    """The firmware ELF breaks the harness ABI or a size cap."""


@dataclass(frozen=True)
class FirmwareImage:
    path: Path
    entry: int
    infer_start: int
    infer_end: int
    infer_entry: int


def _reject_size(path: Path) -> None:
    size = path.stat().st_size
    if size == 0:
        raise FirmwareInvalid("the firmware file is empty")
    if size > MAX_FIRMWARE_BYTES:
        raise FirmwareInvalid(f"the firmware is {size} bytes; the limit is {MAX_FIRMWARE_BYTES}")


def _reject_wrong_kind(elf: ELFFile) -> None:
    if elf.elfclass != 32 or not elf.little_endian:
        raise FirmwareInvalid("not a 32-bit little-endian ELF")
    if elf["e_machine"] != "EM_ARM":
        raise FirmwareInvalid(f"built for {elf['e_machine']}, not Arm")
    if elf["e_type"] != "ET_EXEC":
        raise FirmwareInvalid(f"an ELF of type {elf['e_type']}, not a linked executable")


def _reject_segments_outside_memory(elf: ELFFile, board: Board) -> None:
    loaded = False
    for segment in elf.iter_segments():
        if segment["p_type"] != "PT_LOAD" or segment["p_memsz"] == 0:
            continue
        loaded = True
        # QEMU loads file contents at the physical (load) address; .bss lives at the virtual one.
        for address, length in (
            (segment["p_paddr"], segment["p_filesz"]),
            (segment["p_vaddr"], segment["p_memsz"]),
        ):
            if length and not any(r.contains(address, length) for r in board.loadable_regions):
                raise FirmwareInvalid(
                    f"a segment at {address:#010x}+{length:#x} lies outside {board.name}'s "
                    "flash and RAM"
                )
    if not loaded:
        raise FirmwareInvalid("the ELF loads nothing")


def _reject_missing_vector_table(elf: ELFFile, board: Board) -> None:
    vectors = board.flash.start
    for segment in elf.iter_segments():
        start, size = segment["p_paddr"], segment["p_filesz"]
        if segment["p_type"] == "PT_LOAD" and start <= vectors and vectors + 8 <= start + size:
            return
    raise FirmwareInvalid(f"no vector table at {vectors:#010x}, where {board.name} boots")


def _symbols(elf: ELFFile) -> dict[str, int]:
    table = elf.get_section_by_name(".symtab")
    if not isinstance(table, SymbolTableSection):
        raise FirmwareInvalid("the ELF has no symbol table (do not strip harness firmware)")
    wanted = {*REQUIRED_SYMBOLS, "__ep_input_block"}
    return {s.name: s["st_value"] for s in table.iter_symbols() if s.name in wanted}


def _reject_missing_infer_section(elf: ELFFile, symbols: dict[str, int], board: Board) -> None:
    if elf.get_section_by_name(INFER_SECTION) is None:
        raise FirmwareInvalid("no .infer section: put the inference code in .infer (EP_INFER)")
    missing = [name for name in REQUIRED_SYMBOLS if name not in symbols]
    if missing:
        raise FirmwareInvalid(f"missing harness symbols: {', '.join(missing)}")
    start, end = symbols["__infer_start"], symbols["__infer_end"]
    if not start < end or not board.flash.contains(start, end - start):
        raise FirmwareInvalid(f"the .infer bounds {start:#x}..{end:#x} are not a flash range")
    # Thumb function symbols carry the interworking bit; the instruction is at the even address.
    entry = symbols["ep_infer"] & ~1
    if not start <= entry < end:
        raise FirmwareInvalid("ep_infer is not inside the .infer section")


def _reject_other_board(symbols: dict[str, int], board: Board) -> None:
    input_block = symbols.get("__ep_input_block")
    if input_block is not None and input_block != board.input_block.start:
        raise FirmwareInvalid(
            f"built for another board: inputs expected at {input_block:#010x}, "
            f"but {board.name} loads them at {board.input_block.start:#010x}"
        )


def inspect_firmware(path: Path, board: Board) -> FirmwareImage:
    """Check ``path`` is a harness firmware for ``board``; raise :class:`FirmwareInvalid`."""
    _reject_size(path)
    with path.open("rb") as stream:
        try:
            elf = ELFFile(stream)
            _reject_wrong_kind(elf)
            _reject_segments_outside_memory(elf, board)
            _reject_missing_vector_table(elf, board)
            symbols = _symbols(elf)
            _reject_missing_infer_section(elf, symbols, board)
            _reject_other_board(symbols, board)
            entry = elf["e_entry"]
        except FirmwareInvalid:
            raise
        except Exception as exc:  # a hostile file can break the parser anywhere
            raise FirmwareInvalid(f"not a readable ELF file: {type(exc).__name__}: {exc}") from exc
    if not board.flash.contains(entry & ~1, 2):
        raise FirmwareInvalid(f"the entry point {entry:#x} is not in flash")
    return FirmwareImage(
        path=path,
        entry=entry & ~1,
        infer_start=symbols["__infer_start"],
        infer_end=symbols["__infer_end"],
        infer_entry=symbols["ep_infer"] & ~1,
    )
