"""A ``multipart/form-data`` request body that streams its file part from disk.

``requests`` sends a file-like body with a known length in chunks and with a Content-Length
header (servers such as Django's do not accept chunked request bodies), so the package is
never held in memory whole, and ``on_read`` sees every chunk for a progress bar.
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import BinaryIO


class MultipartBody:
    """Text fields first, then one file; read with ``read(size)`` like a file."""

    def __init__(
        self,
        fields: Mapping[str, str],
        file_field: str,
        path: Path,
        *,
        on_read: Callable[[int], None] | None = None,
    ) -> None:
        self.boundary = secrets.token_hex(16)
        head = b"".join(self._field(name, value) for name, value in fields.items())
        head += self._file_header(file_field, path.name)
        tail = f"\r\n--{self.boundary}--\r\n".encode()
        self._file: BinaryIO = path.open("rb")
        self._file_size = path.stat().st_size
        self._parts: list[BinaryIO] = [io.BytesIO(head), self._file, io.BytesIO(tail)]
        self._length = len(head) + self._file_size + len(tail)
        self._on_read = on_read

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return self._length

    def read(self, size: int = -1) -> bytes:
        chunks: list[bytes] = []
        wanted = self._length if size is None or size < 0 else size
        while self._parts and wanted > 0:
            chunk = self._parts[0].read(wanted)
            if not chunk:
                self._parts.pop(0)
                continue
            if self._parts[0] is self._file and self._on_read is not None:
                self._on_read(len(chunk))
            chunks.append(chunk)
            wanted -= len(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> MultipartBody:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _field(self, name: str, value: str) -> bytes:
        return (
            f"--{self.boundary}\r\n"
            f'Content-Disposition: form-data; name="{_quote(name)}"\r\n\r\n'
            f"{value}\r\n"
        ).encode()

    def _file_header(self, name: str, filename: str) -> bytes:
        return (
            f"--{self.boundary}\r\n"
            f'Content-Disposition: form-data; name="{_quote(name)}"; '
            f'filename="{_quote(filename)}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()


def _quote(value: str) -> str:
    # RFC 7578 section 4.2: escape as HTML forms do; a line break would end the header.
    return value.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")
