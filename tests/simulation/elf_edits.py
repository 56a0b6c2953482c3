"""Edits of a built firmware ELF that a hostile vendor could make: for the firmware checks."""

from __future__ import annotations

import os
import struct


def stretched_symbols(elf: bytes, symbols: int, strtab_bytes: int, entry_size: int = 1) -> bytes:
    """``symbols`` zero symbols of ``entry_size`` bytes, each named at offset 0 of a string
    table of ``strtab_bytes`` holding no NUL: a reader that reads every name to its NUL reads
    to the end of the file once per symbol."""
    data = bytearray(elf)
    shoff = struct.unpack_from("<I", data, 0x20)[0]
    shentsize, shnum = struct.unpack_from("<HH", data, 0x2E)
    headers = [list(struct.unpack_from("<10I", data, shoff + i * shentsize)) for i in range(shnum)]
    symtab = next(i for i, h in enumerate(headers) if h[1] == 2)
    strtab = headers[symtab][6]  # sh_link
    symtab_offset = len(data)
    data += bytes(symbols * entry_size + 16)
    strtab_offset = len(data)
    data += bytes(b % 255 + 1 for b in os.urandom(strtab_bytes))
    headers[symtab][4] = symtab_offset
    headers[symtab][5] = symbols * entry_size
    headers[symtab][9] = entry_size
    headers[strtab][4], headers[strtab][5] = strtab_offset, strtab_bytes
    for i, h in enumerate(headers):
        struct.pack_into("<10I", data, shoff + i * shentsize, *h)
    return bytes(data)
