"""Framing for the sandbox pipe: a 4-byte big-endian length, then that many bytes of JSON.

Shared by the parent (:mod:`certification.tflm.sandbox`) and the child
(:mod:`certification.tflm.child`). NaN and Infinity travel as JSON's non-standard tokens,
which Python's json module reads and writes, because a model's outputs may hold them.
"""

from __future__ import annotations

import json
import os
from typing import Any

HEADER_BYTES = 4
# A frame carries a model (base64) or a batch of outputs; anything larger is a runaway child.
MAX_FRAME_BYTES = 64 << 20


class ProtocolError(Exception):
    """The other end sent something that is not a frame, or hung up."""


def encode(message: dict[str, Any]) -> bytes:
    body = json.dumps(message, separators=(",", ":")).encode()
    if len(body) > MAX_FRAME_BYTES:
        raise ProtocolError(f"frame of {len(body)} bytes exceeds {MAX_FRAME_BYTES}")
    return len(body).to_bytes(HEADER_BYTES, "big") + body


def decode_length(header: bytes) -> int:
    length = int.from_bytes(header, "big")
    if length > MAX_FRAME_BYTES:
        raise ProtocolError(f"frame of {length} bytes exceeds {MAX_FRAME_BYTES}")
    return length


def decode_body(body: bytes) -> dict[str, Any]:
    try:
        message = json.loads(body)
    except ValueError as exc:
        raise ProtocolError("frame is not JSON") from exc
    if not isinstance(message, dict):
        raise ProtocolError("frame is not a JSON object")
    return message


def read_exact(fd: int, count: int) -> bytes:
    """Blocking read of exactly ``count`` bytes (the child's side of the pipe)."""
    chunks = []
    remaining = count
    while remaining:
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            raise ProtocolError("pipe closed mid-frame" if chunks else "pipe closed")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_message(fd: int) -> dict[str, Any]:
    length = decode_length(read_exact(fd, HEADER_BYTES))
    return decode_body(read_exact(fd, length))


def write_message(fd: int, message: dict[str, Any]) -> None:
    data = encode(message)
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
