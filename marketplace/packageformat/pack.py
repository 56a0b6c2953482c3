"""Building a package: a directory becomes a deterministic ``.epk`` with a fresh RECORD.

Used by the vendor CLI (``edgeplug pack``) and by tests. The result is checked with the very
``inspect_package`` the server runs, so what packs locally is what the server accepts.
"""

from __future__ import annotations

import io
import os
import stat
import zipfile
from collections.abc import Mapping
from pathlib import Path

from .archive import inspect_package
from .errors import (
    MissingManifest,
    NonUtf8Name,
    SpecialEntry,
    SymlinkEntry,
    TooManyEntries,
    UncompressedTooLarge,
)
from .limits import DEFAULT_LIMITS, Limits
from .manifest import MANIFEST_NAME, parse_manifest, validate_manifest
from .record import RECORD_NAME, Record, write_record

# The earliest time a zip header can express: fixed so the same files give the same bytes.
FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
_FILE_MODE = stat.S_IFREG | 0o644
_UNIX = 3
_COMPRESS_LEVEL = 9


def build_archive(files: Mapping[str, bytes]) -> bytes:
    """Zip ``files`` plus a RECORD describing them: sorted entries, fixed times and modes.

    ``files`` maps archive names to contents and must not contain RECORD itself. The bytes
    are reproducible for a given Python and zlib build.
    """
    if RECORD_NAME in files:
        raise ValueError("RECORD is generated; do not pass one")
    contents = dict(files)
    contents[RECORD_NAME] = write_record(Record.for_files(files).entries.values())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(contents):
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = _UNIX
            info.external_attr = _FILE_MODE << 16
            archive.writestr(info, contents[name], compresslevel=_COMPRESS_LEVEL)
    return buffer.getvalue()


def pack_directory(path: str | os.PathLike[str], limits: Limits = DEFAULT_LIMITS) -> bytes:
    """Validate the manifest in ``path``, then pack every file under it into a package.

    An existing top-level RECORD is replaced. Symbolic links and special files are refused
    rather than followed. Raises the same ``PackageError`` the server would, and ``OSError``
    for a file or directory under ``path`` that cannot be read (none is left out).
    """
    root = Path(path)
    if not root.is_dir():
        raise NotADirectoryError(f"{root} is not a directory")
    sources = _collect_files(root, limits)
    if MANIFEST_NAME not in sources:
        raise MissingManifest(f"{root} has no {MANIFEST_NAME}")
    validate_manifest(parse_manifest(sources[MANIFEST_NAME].read_bytes(), limits), limits)
    package = build_archive({name: source.read_bytes() for name, source in sources.items()})
    inspect_package(package, limits)
    return package


def _undecodable(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _collect_files(root: Path, limits: Limits) -> dict[str, Path]:
    """Archive name -> file for everything under ``root``, checked before anything is read."""
    sources: dict[str, Path] = {}
    total = 0
    for directory, subdirectories, filenames in os.walk(root, onerror=_raise):
        subdirectories.sort()
        for filename in sorted(filenames + [d for d in subdirectories if _is_link(directory, d)]):
            source = Path(directory, filename)
            name = source.relative_to(root).as_posix()
            if name == RECORD_NAME:
                continue
            if _undecodable(name):
                # The file system gives a name of bytes that are not UTF-8 with surrogates
                # (PEP 383), which a zip entry cannot hold.
                raw = os.fsencode(name)
                raise NonUtf8Name(f"file name {raw!r} is not UTF-8", entry=repr(raw))
            status = source.lstat()
            if stat.S_ISLNK(status.st_mode):
                raise SymlinkEntry("symbolic links cannot be packed", entry=name)
            if not stat.S_ISREG(status.st_mode):
                raise SpecialEntry("only regular files can be packed", entry=name)
            sources[name] = source
            total += status.st_size
    # One entry is kept free for RECORD.
    if len(sources) + 1 > limits.max_entries:
        raise TooManyEntries(
            f"{len(sources)} files plus RECORD exceed the cap of {limits.max_entries} entries"
        )
    if total > limits.max_total_uncompressed_bytes:
        raise UncompressedTooLarge(
            f"the files total {total} bytes, the cap is {limits.max_total_uncompressed_bytes}"
        )
    return sources


def _raise(error: OSError) -> None:
    # os.walk passes over a directory it cannot list unless told otherwise: the package would
    # go without its files, said nowhere.
    raise error


def _is_link(directory: str, name: str) -> bool:
    # os.walk lists a symlink to a directory among the subdirectories without following it;
    # surfacing it here lets the loop refuse it like any other link.
    return Path(directory, name).is_symlink()
