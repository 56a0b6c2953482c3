"""The RECORD file: one ``path,sha256=<hex>,size`` line per file of the package.

Like a wheel's RECORD, it is CSV (comma-separated, fields quoted only when they contain a
comma or a double quote) encoded as UTF-8 with ``\\n`` line ends. Unlike a wheel's:

* the digest is the lowercase hex SHA-256 (what ``sha256sum`` prints), not urlsafe base64;
* the size is required on every line;
* RECORD does not list itself, and a path may appear only once.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .errors import MalformedRecord

RECORD_NAME = "RECORD"
_HASH_PREFIX = "sha256="
# Matched whole (fullmatch): a quoted CSV field may hold a line end, which "$" lets through.
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")
_SIZE = re.compile(r"0|[1-9][0-9]{0,18}")
# A control character (Unicode category Cc: C0, DEL and C1, U+0085 NEL among them): refused in
# a RECORD path and, with this same pattern, in an entry name (archive.py).
CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class RecordEntry:
    """One file as RECORD describes it."""

    path: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Record:
    """A parsed RECORD: its entries keyed by path."""

    entries: Mapping[str, RecordEntry]

    @classmethod
    def for_files(cls, files: Mapping[str, bytes]) -> Record:
        """Describe the given file contents (RECORD itself excluded by the caller)."""
        return cls(
            {
                path: RecordEntry(path, hashlib.sha256(content).hexdigest(), len(content))
                for path, content in files.items()
            }
        )


def write_record(entries: Iterable[RecordEntry]) -> bytes:
    """Serialise entries sorted by path, so the same files always give the same RECORD."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for entry in sorted(entries, key=lambda e: e.path):
        writer.writerow([entry.path, _HASH_PREFIX + entry.sha256, str(entry.size)])
    return buffer.getvalue().encode("utf-8")


def parse_record(data: bytes) -> Record:
    """Parse RECORD bytes; raise ``MalformedRecord`` naming the first bad line."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedRecord("RECORD is not valid UTF-8", entry=RECORD_NAME) from exc
    entries: dict[str, RecordEntry] = {}
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        for row in reader:
            entry = _parse_row(row, reader.line_num)
            if entry.path in entries:
                raise _bad_line(reader.line_num, f"{entry.path!r} is listed twice")
            entries[entry.path] = entry
    except csv.Error as exc:
        raise _bad_line(reader.line_num, f"not valid CSV ({exc})") from exc
    if not entries:
        raise MalformedRecord("RECORD lists no files", entry=RECORD_NAME)
    return Record(entries)


def _parse_row(row: list[str], line: int) -> RecordEntry:
    if len(row) != 3:
        raise _bad_line(line, f"expected 3 fields (path,sha256=<hex>,size), got {len(row)}")
    path, digest, size = row
    if not path or CONTROL_CHARACTER.search(path):
        raise _bad_line(line, "path is empty or contains control characters")
    if path == RECORD_NAME:
        raise _bad_line(line, "RECORD must not list itself")
    hex_digest = digest.removeprefix(_HASH_PREFIX)
    if not digest.startswith(_HASH_PREFIX) or not _HEX_DIGEST.fullmatch(hex_digest):
        raise _bad_line(line, "digest must be sha256= followed by 64 lowercase hex characters")
    if not _SIZE.fullmatch(size):
        raise _bad_line(line, "size must be a non-negative decimal integer")
    return RecordEntry(path, hex_digest, int(size))


def _bad_line(line: int, detail: str) -> MalformedRecord:
    return MalformedRecord(f"RECORD line {line}: {detail}", entry=RECORD_NAME)
