"""What a command's output may replace: nothing, an empty file, or a file of its own kind.

``sign --out`` replaced the signing key file or the package being signed with a signature,
and any --out any file (``fetch-keyset --out pump.epk``): a file of another kind is refused
with ``file_exists`` before any work, left as it was. Re-signing to ``PACKAGE.sig``, fetching
a key set again or packing again over the previous package go on as before.
"""

from __future__ import annotations

import os
import stat
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edgeplug import signing
from marketplace.cli.config import read_json_file
from marketplace.cli.errors import CliError

# Far more than a base64 Ed25519 signature (88 characters) and a key set or certificate.
_SIGNATURE_MAX_BYTES = 1024
_JSON_MAX_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class OutputKind:
    """What a command writes: ``what`` names it in a refusal, ``holds`` tells it in a file."""

    what: str
    holds: Callable[[Path], bool]


def _is_package(path: Path) -> bool:
    """A zip holding a manifest.json: not any zip (``--out report.docx``, a jar)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return "manifest.json" in archive.namelist()
    except zipfile.BadZipFile:
        return False


def _is_signature(path: Path) -> bool:
    if path.stat().st_size > _SIGNATURE_MAX_BYTES:
        return False
    try:
        signing.decode_signature(path.read_text(encoding="ascii"))
    except (UnicodeDecodeError, signing.SigningError):
        return False
    return True


def _json_with(*fields: str) -> Callable[[Path], bool]:
    def holds(path: Path) -> bool:
        if path.stat().st_size > _JSON_MAX_BYTES:
            return False
        try:
            document = read_json_file(path)
        except (UnicodeDecodeError, ValueError):
            return False
        return isinstance(document, dict) and all(field in document for field in fields)

    return holds


PACKAGE = OutputKind("a package (a zip holding manifest.json)", _is_package)
SIGNATURE = OutputKind("a signature file", _is_signature)
CERTIFICATE = OutputKind("a certificate", _json_with("certificate", "key_id", "signature"))
KEYSET = OutputKind("a key set", _json_with("keys"))


def ensure_replaceable(path: Path, kind: OutputKind) -> None:
    """Refuse with ``file_exists`` an existing ``path`` that is not an empty file or one of
    ``kind``: a mistyped --out must not cost a key, a package or anything else."""
    try:
        status = path.stat()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise _refusal(path, f"cannot be looked at ({exc.strerror or exc})") from exc
    if not stat.S_ISREG(status.st_mode):
        raise _refusal(path, "is not a regular file")
    if status.st_size == 0:
        return
    try:
        holds = kind.holds(path)
    except OSError as exc:
        raise _refusal(path, f"cannot be read to tell ({exc.strerror or exc})") from exc
    if not holds:
        raise _refusal(path, f"is not {kind.what}")


def _refusal(path: Path, why: str) -> CliError:
    return CliError(
        "file_exists",
        f"{path} exists and {why}; refusing to replace it (remove it, or choose another --out)",
    )


def same_file(path: Path, other: Path) -> bool:
    """Whether ``path`` names ``other``: the same path once resolved, or one file under two
    names (a hard link)."""
    if path.resolve() == other.resolve():
        return True
    try:
        return os.path.samefile(path, other)
    except OSError:
        return False
