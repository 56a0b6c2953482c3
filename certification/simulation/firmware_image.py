"""Sanity checks on a vendor firmware ELF before it goes anywhere near an emulator.

The file is hostile until proven otherwise: every check is a small named predicate that raises
:class:`FirmwareInvalid` (code ``firmware_invalid``) with a reason a vendor can act on. What
survives is summarised as a :class:`FirmwareImage`: the inference section bounds and entry that
the instruction counter needs.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from elftools.elf.elffile import ELFFile

from certification.simulation.boards import Board
from edgeplug.errors import DomainError

MAX_FIRMWARE_BYTES = 8 << 20
INFER_SECTION = ".infer"
REQUIRED_SYMBOLS = ("__infer_start", "__infer_end", "ep_infer")
# The section and symbol tables are read here, not by pyelftools, which reads every name to its
# NUL: a hostile file naming thousands of symbols into a table without one made that hours of
# work in the worker, outside the simulation sandbox. Each table and each name is bounded.
MAX_SEGMENTS = 64
MAX_SECTIONS = 1_024
MAX_SYMBOLS = 200_000
MAX_NAME_BYTES = 256
_SECTION_HEADER = struct.Struct("<10I")
_SYMBOL = struct.Struct("<IIIBBH")
_SHT_SYMTAB = 2


class FirmwareInvalid(DomainError, code="firmware_invalid", status=422):
    """The firmware ELF breaks the harness ABI or a size cap."""


@dataclass(frozen=True)
class _Section:
    name: bytes
    type: int
    offset: int
    size: int
    link: int
    entsize: int


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


def _reject_too_many_segments(elf: ELFFile) -> None:
    if elf["e_phnum"] > MAX_SEGMENTS:
        raise FirmwareInvalid(f"the ELF has {elf['e_phnum']} segments; the limit is {MAX_SEGMENTS}")


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


def _name_at(table: bytes, offset: int) -> bytes | None:
    """The NUL-terminated name at ``offset``, or None past the table or MAX_NAME_BYTES long:
    none of the names the harness needs is that long."""
    end = table.find(b"\0", offset, offset + MAX_NAME_BYTES + 1)
    return None if end < 0 else table[offset:end]


def _read(stream: BinaryIO, offset: int, size: int, size_of_file: int, what: str) -> bytes:
    if offset + size > size_of_file:
        raise FirmwareInvalid(f"the {what} runs past the end of the file")
    stream.seek(offset)
    return stream.read(size)


def _sections(elf: ELFFile, stream: BinaryIO, size_of_file: int) -> list[_Section]:
    count, entry_size = elf["e_shnum"], elf["e_shentsize"]
    if count > MAX_SECTIONS:
        raise FirmwareInvalid(f"the ELF has {count} sections; the limit is {MAX_SECTIONS}")
    if count and entry_size != _SECTION_HEADER.size:
        raise FirmwareInvalid(f"section headers of {entry_size} bytes, not {_SECTION_HEADER.size}")
    table = _read(stream, elf["e_shoff"], count * entry_size, size_of_file, "section table")
    headers = list(_SECTION_HEADER.iter_unpack(table))
    if not 0 < elf["e_shstrndx"] < count:
        raise FirmwareInvalid("the ELF has no section name table")
    names_header = headers[elf["e_shstrndx"]]
    names = _read(stream, names_header[4], names_header[5], size_of_file, "section name table")
    return [_Section(_name_at(names, h[0]) or b"", h[1], h[4], h[5], h[6], h[9]) for h in headers]


def _symbols(sections: list[_Section], stream: BinaryIO, size_of_file: int) -> dict[str, int]:
    """The values of the harness symbols, each symbol's name read at most MAX_NAME_BYTES."""
    table = next((s for s in sections if s.name == b".symtab" and s.type == _SHT_SYMTAB), None)
    if table is None:
        raise FirmwareInvalid("the ELF has no symbol table (do not strip harness firmware)")
    if table.entsize != _SYMBOL.size or table.size % _SYMBOL.size:
        raise FirmwareInvalid(f"symbol table entries of {table.entsize} bytes, not {_SYMBOL.size}")
    if table.size // _SYMBOL.size > MAX_SYMBOLS:
        raise FirmwareInvalid(
            f"the ELF has {table.size // _SYMBOL.size} symbols; the limit is {MAX_SYMBOLS}"
        )
    if not 0 < table.link < len(sections):
        raise FirmwareInvalid("the symbol table has no string table")
    strings = sections[table.link]
    names = _read(stream, strings.offset, strings.size, size_of_file, "symbol name table")
    entries = _read(stream, table.offset, table.size, size_of_file, "symbol table")
    wanted = {name.encode() for name in (*REQUIRED_SYMBOLS, "__ep_input_block")}
    found = {}
    for name_offset, value, *_ in _SYMBOL.iter_unpack(entries):
        name = _name_at(names, name_offset)
        if name in wanted:
            found[name.decode()] = value
    return found


def _reject_missing_infer_section(
    sections: list[_Section], symbols: dict[str, int], board: Board
) -> None:
    if not any(s.name == INFER_SECTION.encode() for s in sections):
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
    size_of_file = path.stat().st_size
    with path.open("rb") as stream:
        try:
            elf = ELFFile(stream)
            _reject_wrong_kind(elf)
            _reject_too_many_segments(elf)
            _reject_segments_outside_memory(elf, board)
            _reject_missing_vector_table(elf, board)
            sections = _sections(elf, stream, size_of_file)
            symbols = _symbols(sections, stream, size_of_file)
            _reject_missing_infer_section(sections, symbols, board)
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
