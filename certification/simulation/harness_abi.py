"""The firmware harness ABI, host side: the input block the emulator loads, the UART lines back.

Mirrors ``certification/firmware/harness/edgeplug_harness.h`` (ABI version 1) and
``docs/firmware-harness.md``: a 32-byte little-endian header, then the input vectors, each
padded to a multiple of 4 bytes; the firmware answers with ``EPOUT <index> <hex>`` lines, one
``EPDONE <count>`` line, or ``EPFAULT``/``EPERR`` lines when it fails.
"""

from __future__ import annotations

import enum
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

ABI_VERSION = 1
INPUT_MAGIC = 0x4E495045  # "EPIN" read as a little-endian word
HEADER_SIZE = 32
MAX_OUTPUT_SIZE = 1024
_HEADER = struct.Struct("<IHHIIIIBBHI")

_EPOUT = re.compile(r"EPOUT (\d{1,9}) ([0-9a-f]*)")
_EPDONE = re.compile(r"EPDONE (\d{1,9})")


class Dtype(enum.StrEnum):
    """Element types of input and output vectors; ``code`` is the header's dtype byte."""

    INT8 = "int8"
    UINT8 = "uint8"
    INT16 = "int16"
    INT32 = "int32"
    FLOAT32 = "float32"

    @property
    def code(self) -> int:
        return _DTYPE_CODES[self][0]

    @property
    def itemsize(self) -> int:
        return struct.calcsize("<" + self.struct_char)

    @property
    def struct_char(self) -> str:
        return _DTYPE_CODES[self][1]

    @property
    def is_float(self) -> bool:
        return self is Dtype.FLOAT32

    def decode(self, data: bytes) -> list[int] | list[float]:
        """Little-endian bytes to values; trailing bytes that do not fill an element are cut."""
        count = len(data) // self.itemsize
        return list(struct.unpack(f"<{count}{self.struct_char}", data[: count * self.itemsize]))


# (header code from enum ep_dtype, struct format character)
_DTYPE_CODES = {
    Dtype.INT8: (0, "b"),
    Dtype.UINT8: (1, "B"),
    Dtype.INT16: (2, "h"),
    Dtype.INT32: (3, "i"),
    Dtype.FLOAT32: (4, "f"),
}


def _stride(input_size: int) -> int:
    return (input_size + 3) & ~3


class TooWideForHarness(ValueError):
    """The model's output is over MAX_OUTPUT_SIZE bytes: its shape, not a bug of ours."""


def pack_input_block(
    inputs: Sequence[bytes],
    output_size: int,
    input_dtype: Dtype = Dtype.INT8,
    output_dtype: Dtype = Dtype.INT8,
) -> bytes:
    """The bytes the emulator loads at the board's input address.

    Every input must have the same length; ``output_size`` is in bytes.
    """
    if not inputs:
        raise ValueError("at least one input vector is needed")
    input_size = len(inputs[0])
    if any(len(vector) != input_size for vector in inputs):
        raise ValueError("input vectors differ in length")
    if output_size <= 0:
        raise ValueError("output_size must be positive")
    if output_size > MAX_OUTPUT_SIZE:
        raise TooWideForHarness(
            f"the model's output is {output_size} bytes; the harness carries at most "
            f"{MAX_OUTPUT_SIZE} bytes per vector"
        )
    stride = _stride(input_size)
    header = _HEADER.pack(
        INPUT_MAGIC,
        ABI_VERSION,
        HEADER_SIZE,
        len(inputs),
        input_size,
        output_size,
        stride,
        input_dtype.code,
        output_dtype.code,
        0,
        0,
    )
    return header + b"".join(vector.ljust(stride, b"\0") for vector in inputs)


@dataclass
class UartReport:
    """What the firmware said on its UART, parsed; ``problems`` lists ABI violations."""

    outputs: list[bytes | None]
    done_count: int | None = None
    fault: str | None = None
    firmware_error: str | None = None
    problems: list[str] = field(default_factory=list)


def parse_uart(text: str, vector_count: int, output_size: int) -> UartReport:
    """Parse the harness lines of a UART log; lines that are not harness lines are ignored.

    Only the first EPDONE counts: anything after it (a firmware that keeps running) is
    ignored rather than allowed to overwrite outputs.
    """
    report = UartReport(outputs=[None] * vector_count)
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if line.startswith("EPFAULT") and report.fault is None:
            report.fault = line
        elif line.startswith("EPERR") and report.firmware_error is None:
            report.firmware_error = line
        elif match := _EPDONE.fullmatch(line):
            report.done_count = int(match.group(1))
            break
        elif line.startswith("EPOUT"):
            _record_output(report, line, vector_count, output_size)
    return report


def _record_output(report: UartReport, line: str, vector_count: int, output_size: int) -> None:
    match = _EPOUT.fullmatch(line)
    if match is None:
        report.problems.append(f"malformed output line: {line[:80]!r}")
        return
    index, payload = int(match.group(1)), match.group(2)
    if index >= vector_count:
        report.problems.append(f"output for input {index}, but only {vector_count} were given")
    elif len(payload) != 2 * output_size:
        report.problems.append(
            f"output {index} has {len(payload) // 2} bytes, expected {output_size}"
        )
    elif report.outputs[index] is not None:
        report.problems.append(f"output {index} printed twice")
    else:
        report.outputs[index] = bytes.fromhex(payload)
