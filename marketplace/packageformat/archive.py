"""Reading an uploaded ``.epk`` archive as hostile input and returning a validated package.

``inspect_package`` runs small named predicates in a fixed order, cheapest first, and each
raises one specific ``PackageError``. Nothing is extracted to disk: entries are streamed from
memory with a hard cap, so a lying header can cost at most the caps in ``Limits``.
"""

from __future__ import annotations

import functools
import hashlib
import io
import itertools
import mmap
import re
import stat
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from edgeplug.signing import KEY_FILE_FORMAT, is_key_file

from .errors import (
    AbsolutePath,
    CompressionBomb,
    CorruptArchive,
    DigestMismatch,
    DirectoryEntry,
    DuplicateEntry,
    EncryptedEntry,
    InvalidEntryName,
    ManifestTooLarge,
    MissingFile,
    MissingManifest,
    MissingRecord,
    NonUtf8Name,
    NotAZip,
    OverlappingEntries,
    PackageError,
    PackageTooLarge,
    PathTraversal,
    PrivateKeyInPackage,
    RecordTooLarge,
    SizeMismatch,
    SpecialEntry,
    SymlinkEntry,
    TooManyEntries,
    UnaccountedData,
    UncompressedTooLarge,
    UnrecordedFile,
    UnsupportedCompression,
)
from .limits import DEFAULT_LIMITS, Limits
from .manifest import (
    MANIFEST_NAME,
    Manifest,
    check_referenced_files,
    parse_manifest,
    validate_manifest,
)
from .record import CONTROL_CHARACTER, RECORD_NAME, Record, parse_record

_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
_LOCAL_SIGNATURE = b"PK\x03\x04"
_END_RECORD = struct.Struct("<4s4H2LH")
_END_SIGNATURE = b"PK\x05\x06"
_ZIP64_LOCATOR_SIGNATURE = b"PK\x06\x07"
_ZIP64_LOCATOR_SIZE = 20
_MAX_COMMENT = 0xFFFF
_ZIP64_MARKER = 0xFFFFFFFF
# The fixed part of a central directory record, plus a generous allowance for the extra
# fields and comment of a legitimate entry: bounds how much directory a package may carry.
_CENTRAL_RECORD_FIXED = 46
_CENTRAL_RECORD_EXTRAS = 1024
# General purpose flag bits (APPNOTE 4.4.4).
_FLAG_ENCRYPTED = 0x0001
_FLAG_DATA_DESCRIPTOR = 0x0008
_FLAG_PATCHED = 0x0020
_FLAG_STRONG_ENCRYPTION = 0x0040
_FLAG_UTF8 = 0x0800
_FLAG_MASKED_HEADERS = 0x2000
_ENCRYPTION_FLAGS = _FLAG_ENCRYPTED | _FLAG_STRONG_ENCRYPTION | _FLAG_MASKED_HEADERS
_DOS_DIRECTORY = 0x10
# A data descriptor is crc + two sizes (4 or 8 bytes each), optionally after a signature: its
# length says which (APPNOTE 4.3.9), the length the fields it holds.
_DESCRIPTOR_SIGNATURE = b"PK\x07\x08"
_DESCRIPTORS = {
    12: (b"", struct.Struct("<3L")),
    16: (_DESCRIPTOR_SIGNATURE, struct.Struct("<3L")),
    20: (b"", struct.Struct("<L2Q")),
    24: (_DESCRIPTOR_SIGNATURE, struct.Struct("<L2Q")),
}
_SUPPORTED_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
_DRIVE = re.compile(r"^[A-Za-z]:")
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class PackageEntry:
    """One file of a validated package, as measured while streaming it."""

    name: str
    size: int
    compressed_size: int
    sha256: str


@dataclass(frozen=True)
class ValidatedPackage:
    """A package that passed every check: its manifest, its files and its digest.

    File contents are not held in memory; ``read`` streams one from the archive bytes.
    """

    manifest: Manifest
    manifest_bytes: bytes
    entries: Mapping[str, PackageEntry]
    record: Record
    sha256: str
    size: int
    uncompressed_size: int
    _data: bytes = field(repr=False, compare=False)
    _entries: Mapping[str, _Entry] = field(repr=False, compare=False)

    @property
    def name(self) -> str:
        return self.manifest["name"]

    @property
    def version(self) -> str:
        return self.manifest["version"]

    @property
    def manifest_sha256(self) -> str:
        return hashlib.sha256(self.manifest_bytes).hexdigest()

    def read(self, name: str) -> bytes:
        """The bytes of one file, e.g. ``package.read(package.manifest["model"]["file"])``."""
        entry = self.entries[name]
        with zipfile.ZipFile(_as_file(self._data)) as archive:
            return b"".join(_stream_entry(archive, self._entries[name], entry.size))


@dataclass(frozen=True)
class _EndRecord:
    position: int
    entries: int
    directory_size: int
    directory_offset: int
    comment_length: int


@dataclass(frozen=True)
class _Entry:
    name: str
    info: zipfile.ZipInfo


@dataclass
class _Archive:
    data: bytes
    end: _EndRecord
    zip: zipfile.ZipFile
    entries: list[_Entry]

    @functools.cached_property
    def spans(self) -> list[tuple[_Entry, int, int]]:
        """(entry, start of its local header, end of its data), in archive order."""
        spans = [
            (entry, entry.info.header_offset, _data_end(self, entry)) for entry in self.entries
        ]
        return sorted(spans, key=lambda span: span[1])


def inspect_package(
    data: bytes,
    limits: Limits = DEFAULT_LIMITS,
    *,
    sha256: str | None = None,
    stored: bool = False,
) -> ValidatedPackage:
    """Validate archive bytes completely, or raise the first ``PackageError`` they earn.

    ``sha256``: the hex SHA-256 of ``data`` when the caller has just computed it from these
    very bytes (an upload verifies its signature over it), so 1 MiB is not hashed twice. It is
    trusted as given: it becomes the package's content address, so never pass a digest
    someone else supplied. ``stored``: a package the server holds already, read back (a
    re-scan, a run): a check added since it was taken (a key file in it) does not stop it
    being read."""
    reject_oversized(len(data), limits)
    end = _locate_end_record(data)
    _reject_too_many_declared_entries(end, limits)
    _reject_data_around_central_directory(data, end)
    with _open_zip(data) as opened:
        archive = _Archive(data, end, opened, _decode_entry_names(opened))
        for check in _ENTRY_CHECKS:
            check(archive, limits)
        return _validate_contents(archive, limits, sha256, stored)


def reject_oversized(size: int, limits: Limits = DEFAULT_LIMITS, *, arriving=False) -> None:
    """Refuse a package of ``size`` bytes over the cap, before reading it (the CLI asks with
    a file's size), or one ``arriving`` that has passed the cap after ``size`` bytes (a
    streamed upload, stopped there: its whole size is not known)."""
    cap = limits.max_package_bytes
    if size > cap:
        size_is = f"this upload was stopped after {size}" if arriving else f"this one is {size}"
        raise PackageTooLarge(f"Packages are limited to {cap} bytes; {size_is} bytes.")


def _locate_end_record(data: bytes) -> _EndRecord:
    position = data.rfind(_END_SIGNATURE, max(0, len(data) - _END_RECORD.size - _MAX_COMMENT))
    if position < 0 or len(data) - position < _END_RECORD.size:
        if data[: len(_LOCAL_SIGNATURE)] == _LOCAL_SIGNATURE:
            raise CorruptArchive("the zip archive is truncated: no end of central directory")
        raise NotAZip("the package is not a zip archive")
    (_, disk, directory_disk, disk_entries, entries, size, offset, comment) = (
        _END_RECORD.unpack_from(data, position)
    )
    if disk != 0 or directory_disk != 0 or disk_entries != entries:
        raise CorruptArchive("multi-disk zip archives are not accepted")
    # Zip64 end records only exist for archives far beyond every cap; refusing them keeps a
    # second, rarely exercised parser path out of reach of hostile input.
    zip64_marked = entries == 0xFFFF or _ZIP64_MARKER in (size, offset)
    locator = position - _ZIP64_LOCATOR_SIZE
    at_locator = data[locator : locator + len(_ZIP64_LOCATOR_SIGNATURE)]
    if zip64_marked or (locator >= 0 and at_locator == _ZIP64_LOCATOR_SIGNATURE):
        raise CorruptArchive("zip64 end of central directory records are not accepted")
    return _EndRecord(position, entries, size, offset, comment)


def _reject_too_many_declared_entries(end: _EndRecord, limits: Limits) -> None:
    # Checked before the zip library builds one object per directory record, so a directory
    # of a million tiny records costs nothing.
    largest_directory = limits.max_entries * (
        _CENTRAL_RECORD_FIXED + limits.max_entry_name_bytes + _CENTRAL_RECORD_EXTRAS
    )
    if end.entries > limits.max_entries:
        raise TooManyEntries(
            f"the archive declares {end.entries} entries, the cap is {limits.max_entries}"
        )
    if end.directory_size > largest_directory:
        raise TooManyEntries(
            f"the central directory is {end.directory_size} bytes, more than "
            f"{limits.max_entries} entries can need"
        )


def _reject_data_around_central_directory(data: bytes, end: _EndRecord) -> None:
    if end.position + _END_RECORD.size + end.comment_length != len(data):
        raise UnaccountedData("the archive has bytes after its end of central directory record")
    if end.position - end.directory_size != end.directory_offset:
        raise UnaccountedData(
            "the archive has bytes before its first entry or before its central directory"
        )


class _MappedFile:
    """A memory-mapped upload as the seekable file zipfile wants, without copying it."""

    def __init__(self, mapped: mmap.mmap) -> None:
        self._mapped = mapped
        mapped.seek(0)

    def seekable(self) -> bool:
        return True

    def __getattr__(self, name: str):
        return getattr(self._mapped, name)


def _as_file(data: bytes):
    if isinstance(data, mmap.mmap):
        return _MappedFile(data)
    return io.BytesIO(data)


def _open_zip(data: bytes) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(_as_file(data))
    except UnicodeDecodeError as exc:
        raise NonUtf8Name("an entry flagged as UTF-8 has a name that is not UTF-8") from exc
    except (zipfile.BadZipFile, NotImplementedError, EOFError, ValueError, struct.error) as exc:
        raise CorruptArchive(f"the zip archive is corrupt: {exc}") from exc


def _decode_entry_names(archive: zipfile.ZipFile) -> list[_Entry]:
    entries = []
    for info in archive.infolist():
        # orig_filename is the name as stored; ZipInfo.filename cuts it at a NUL byte.
        if info.flag_bits & _FLAG_UTF8:
            name = info.orig_filename
        else:
            # Without the UTF-8 flag the zip library decoded the bytes as cp437, which
            # cannot fail; recover the bytes and insist they are UTF-8 anyway.
            raw = info.orig_filename.encode("cp437")
            try:
                name = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise NonUtf8Name(f"entry name {raw!r} is not UTF-8") from exc
        entries.append(_Entry(name, info))
    return entries


def _reject_too_many_entries(archive: _Archive, limits: Limits) -> None:
    if len(archive.entries) > limits.max_entries:
        raise TooManyEntries(
            f"the archive holds {len(archive.entries)} entries, the cap is {limits.max_entries}"
        )


def _reject_absolute_paths(archive: _Archive, limits: Limits) -> None:
    for entry in archive.entries:
        if entry.name.startswith(("/", "\\")) or _DRIVE.match(entry.name):
            raise AbsolutePath("entry names must be relative", entry=entry.name)


def _reject_dotdot(archive: _Archive, limits: Limits) -> None:
    for entry in archive.entries:
        if ".." in re.split(r"[/\\]", entry.name):
            raise PathTraversal("entry names must not contain '..' segments", entry=entry.name)


def _reject_invalid_names(archive: _Archive, limits: Limits) -> None:
    for entry in archive.entries:
        reason = _name_problem(entry.name, limits)
        if reason:
            raise InvalidEntryName(reason, entry=entry.name)


def _name_problem(name: str, limits: Limits) -> str | None:
    if len(name.encode("utf-8")) > limits.max_entry_name_bytes:
        return f"entry names are limited to {limits.max_entry_name_bytes} bytes"
    if CONTROL_CHARACTER.search(name):
        return "entry names must not contain control characters or NUL"
    if "\\" in name:
        return "entry names must use '/' as the separator, not '\\'"
    segments = name.rstrip("/").split("/")
    if any(segment in ("", ".") for segment in segments):
        return "entry names must not contain empty or '.' segments"
    return None


def _reject_directory_entries(archive: _Archive, limits: Limits) -> None:
    for entry in archive.entries:
        mode = entry.info.external_attr >> 16
        if (
            entry.name.endswith("/")
            or stat.S_ISDIR(mode)
            or entry.info.external_attr & _DOS_DIRECTORY
        ):
            raise DirectoryEntry("the archive must hold files only", entry=entry.name)


def _reject_symlinks_and_special(archive: _Archive, limits: Limits) -> None:
    for entry in archive.entries:
        mode = entry.info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise SymlinkEntry("symbolic links are not accepted", entry=entry.name)
        if stat.S_IFMT(mode) not in (0, stat.S_IFREG):
            raise SpecialEntry("devices, FIFOs and sockets are not accepted", entry=entry.name)
        if mode & (stat.S_ISUID | stat.S_ISGID | stat.S_ISVTX):
            raise SpecialEntry("setuid, setgid and sticky bits are not accepted", entry=entry.name)


def _reject_encrypted(archive: _Archive, limits: Limits) -> None:
    for entry in archive.entries:
        if entry.info.flag_bits & _ENCRYPTION_FLAGS:
            raise EncryptedEntry("encrypted entries are not accepted", entry=entry.name)


def _reject_unsupported_compression(archive: _Archive, limits: Limits) -> None:
    for entry in archive.entries:
        if (
            entry.info.compress_type not in _SUPPORTED_METHODS
            or entry.info.flag_bits & _FLAG_PATCHED
        ):
            raise UnsupportedCompression(
                f"compression method {entry.info.compress_type} is not accepted; "
                "use stored or deflate",
                entry=entry.name,
            )


def _reject_duplicates(archive: _Archive, limits: Limits) -> None:
    # Names that differ only by case, Unicode normalisation, or dots and spaces ending a part
    # of the path (which Windows drops) collide when extracted on macOS or Windows, so they
    # count as duplicates too.
    seen: dict[str, str] = {}
    for entry in archive.entries:
        folded = unicodedata.normalize("NFC", entry.name).casefold()
        key = "/".join(part.rstrip(". ") for part in folded.split("/"))
        if key in seen:
            raise DuplicateEntry(
                f"the archive holds {seen[key]!r} more than once", entry=entry.name
            )
        seen[key] = entry.name


def _reject_overlapping_entries(archive: _Archive, limits: Limits) -> None:
    # Overlapping entries are how the densest zip bombs reuse one compressed stream.
    for (entry, _, end), (following, start, _) in itertools.pairwise(archive.spans):
        if start < end:
            raise OverlappingEntries(
                f"the data of this entry overlaps entry {following.name!r}", entry=entry.name
            )


def _reject_gaps_between_entries(archive: _Archive, limits: Limits) -> None:
    # Bytes that belong to no entry are where a polyglot file hides a second payload; the only
    # bytes allowed after an entry's data are its data descriptor, which must be one.
    expected, previous = 0, None
    for entry, start, end in archive.spans:
        _reject_gap(archive, previous, expected, start, entry.name)
        expected, previous = end, entry
    _reject_gap(archive, previous, expected, archive.end.directory_offset, None)


def _reject_gap(
    archive: _Archive, previous: _Entry | None, start: int, end: int, entry: str | None
) -> None:
    gap = end - start
    deferred = previous is not None and previous.info.flag_bits & _FLAG_DATA_DESCRIPTOR
    if gap != 0 and not (deferred and gap in _DESCRIPTORS):
        where = "this entry" if entry else "the central directory"
        raise UnaccountedData(
            f"the archive has {gap} unaccounted bytes before {where}", entry=entry
        )
    if deferred:
        _reject_wrong_descriptor(previous, archive.data[start:end])


def _reject_wrong_descriptor(entry: _Entry, descriptor: bytes) -> None:
    # The local header deferred its CRC and sizes to the descriptor, which a reader that
    # streams the archive trusts: it must say what the central directory says.
    signature, fields = _DESCRIPTORS.get(len(descriptor), (None, None))
    if fields is None or not descriptor.startswith(signature):
        raise CorruptArchive(
            "the entry's data descriptor is missing or malformed", entry=entry.name
        )
    info = entry.info
    if fields.unpack_from(descriptor, len(signature)) != (
        info.CRC,
        info.compress_size,
        info.file_size,
    ):
        raise CorruptArchive(
            "the data descriptor disagrees with the central directory", entry=entry.name
        )


def _data_end(archive: _Archive, entry: _Entry) -> int:
    info = entry.info
    offset = info.header_offset
    if offset + _LOCAL_HEADER.size > len(archive.data):
        raise CorruptArchive("a local header lies beyond the end of the archive", entry=entry.name)
    (signature, _, flags, method, _, _, crc, compressed, size, name_length, extra_length) = (
        _LOCAL_HEADER.unpack_from(archive.data, offset)
    )
    if signature != _LOCAL_SIGNATURE:
        raise CorruptArchive(
            "a central directory record points at no local header", entry=entry.name
        )
    name_start = offset + _LOCAL_HEADER.size
    local_name = archive.data[name_start : name_start + name_length]
    central_name = info.orig_filename.encode("utf-8" if info.flag_bits & _FLAG_UTF8 else "cp437")
    # Readers that trust the local header must see the very file we check: same name,
    # method, CRC and sizes (which a zip64 marker may defer, or a data descriptor, which
    # _reject_wrong_descriptor holds to the central directory in their place).
    deferred = bool(flags & _FLAG_DATA_DESCRIPTOR)
    if (
        local_name != central_name
        or method != info.compress_type
        or deferred != bool(info.flag_bits & _FLAG_DATA_DESCRIPTOR)
        or not (deferred or crc == info.CRC)
        or not (deferred or compressed in (info.compress_size, _ZIP64_MARKER))
        or not (deferred or size in (info.file_size, _ZIP64_MARKER))
    ):
        raise CorruptArchive(
            "the local header disagrees with the central directory", entry=entry.name
        )
    if flags & _ENCRYPTION_FLAGS:
        raise EncryptedEntry("encrypted entries are not accepted", entry=entry.name)
    end = name_start + name_length + extra_length + info.compress_size
    if end > len(archive.data):
        raise CorruptArchive("entry data runs past the end of the archive", entry=entry.name)
    return end


def _reject_uncompressed_too_large(archive: _Archive, limits: Limits) -> None:
    total = sum(entry.info.file_size for entry in archive.entries)
    if total > limits.max_total_uncompressed_bytes:
        raise UncompressedTooLarge(
            f"the entries declare {total} bytes uncompressed, the cap is "
            f"{limits.max_total_uncompressed_bytes}"
        )


def _reject_compression_bomb(archive: _Archive, limits: Limits) -> None:
    for entry in archive.entries:
        size, compressed = entry.info.file_size, max(entry.info.compress_size, 1)
        if size > limits.compression_ratio_min_bytes and size / compressed > (
            limits.max_compression_ratio
        ):
            raise CompressionBomb(
                f"the entry expands {size / compressed:.0f}:1, the cap is "
                f"{limits.max_compression_ratio}:1",
                entry=entry.name,
            )


def _require_manifest(archive: _Archive, limits: Limits) -> None:
    _require_root_file(
        archive, MANIFEST_NAME, limits.max_manifest_bytes, MissingManifest, ManifestTooLarge
    )


def _require_record(archive: _Archive, limits: Limits) -> None:
    _require_root_file(archive, RECORD_NAME, limits.max_record_bytes, MissingRecord, RecordTooLarge)


def _require_root_file(
    archive: _Archive,
    name: str,
    cap: int,
    missing: type[PackageError],
    too_large: type[PackageError],
) -> None:
    entry = _find(archive, name)
    if entry is None:
        raise missing(f"the archive has no {name} at its root")
    if entry.info.file_size > cap:
        raise too_large(f"{name} is {entry.info.file_size} bytes, the cap is {cap}", entry=name)


_ENTRY_CHECKS: tuple[Callable[[_Archive, Limits], None], ...] = (
    _reject_too_many_entries,
    _reject_absolute_paths,
    _reject_dotdot,
    _reject_invalid_names,
    _reject_directory_entries,
    _reject_symlinks_and_special,
    _reject_encrypted,
    _reject_unsupported_compression,
    _reject_duplicates,
    _reject_overlapping_entries,
    _reject_gaps_between_entries,
    _require_manifest,
    _require_record,
    _reject_uncompressed_too_large,
    _reject_compression_bomb,
)


def _validate_contents(
    archive: _Archive, limits: Limits, sha256: str | None, stored: bool
) -> ValidatedPackage:
    by_name = {entry.name: entry for entry in archive.entries}
    record_entry = by_name[RECORD_NAME]
    record = parse_record(
        b"".join(_stream_entry(archive.zip, record_entry, limits.max_record_bytes))
    )
    _reject_missing_files(record, by_name)
    _reject_unrecorded_files(record, by_name)
    measured = {RECORD_NAME: _measure(archive, record_entry)}
    for name in record.entries:
        measured[name] = _measure(archive, by_name[name])
        _reject_size_and_digest_mismatch(record, measured[name])
        if not stored:
            _reject_private_key(archive, by_name[name])
    manifest_entry = by_name[MANIFEST_NAME]
    manifest_bytes = b"".join(_stream_entry(archive.zip, manifest_entry, limits.max_manifest_bytes))
    manifest = parse_manifest(manifest_bytes, limits)
    validate_manifest(manifest, limits)
    check_referenced_files(manifest, by_name.keys())
    return ValidatedPackage(
        manifest=manifest,
        manifest_bytes=manifest_bytes,
        entries=measured,
        record=record,
        sha256=sha256 or hashlib.sha256(archive.data).hexdigest(),
        size=len(archive.data),
        uncompressed_size=sum(entry.size for entry in measured.values()),
        _data=archive.data,
        _entries=by_name,
    )


# A key file is about 250 bytes; a file past this is not one, and is not read again.
_KEY_FILE_MAX_BYTES = 64 * 1024


def _reject_private_key(archive: _Archive, entry: _Entry) -> None:
    """Refuse a file that is a signing key file (``signing.is_key_file``), whatever its
    name: left in the agent's directory, ``edgeplug pack`` took it, and every buyer of the
    version would have downloaded the vendor's private key."""
    if entry.info.file_size > _KEY_FILE_MAX_BYTES:
        return
    content = b"".join(_stream_entry(archive.zip, entry, _KEY_FILE_MAX_BYTES))
    # Only a file that names the key file's format is parsed as JSON.
    if KEY_FILE_FORMAT.encode() in content and is_key_file(content):
        raise PrivateKeyInPackage(
            "this file is a signing key file (edgeplug keygen's): it holds your private "
            "key, which must never leave your machine. Move it out of the agent's "
            "directory and pack again; if a package holding it was shared, revoke the key",
            entry=entry.name,
        )


def _reject_missing_files(record: Record, by_name: Mapping[str, _Entry]) -> None:
    for name in sorted(record.entries):
        if name not in by_name:
            raise MissingFile("RECORD lists a file that is not in the archive", entry=name)


def _reject_unrecorded_files(record: Record, by_name: Mapping[str, _Entry]) -> None:
    for name in sorted(by_name):
        if name != RECORD_NAME and name not in record.entries:
            raise UnrecordedFile("the archive holds a file that RECORD does not list", entry=name)


def _reject_size_and_digest_mismatch(record: Record, measured: PackageEntry) -> None:
    expected = record.entries[measured.name]
    if measured.size != expected.size:
        raise SizeMismatch(
            f"RECORD says {expected.size} bytes, the file has {measured.size}",
            entry=measured.name,
        )
    if measured.sha256 != expected.sha256:
        raise DigestMismatch("the file's SHA-256 differs from RECORD", entry=measured.name)


def _measure(archive: _Archive, entry: _Entry) -> PackageEntry:
    digest = hashlib.sha256()
    size = 0
    for chunk in _stream_entry(archive.zip, entry, entry.info.file_size):
        digest.update(chunk)
        size += len(chunk)
    if size != entry.info.file_size:
        raise CorruptArchive(
            f"the entry declares {entry.info.file_size} bytes but holds {size}", entry=entry.name
        )
    return PackageEntry(entry.name, size, entry.info.compress_size, digest.hexdigest())


def _stream_entry(archive: zipfile.ZipFile, entry: _Entry, cap: int) -> Iterator[bytes]:
    """Yield an entry's bytes in chunks, failing as soon as more than ``cap`` arrive.

    The zip library already stops at the declared size; counting here keeps the cap a
    property of this code rather than of the library's internals.
    """
    total = 0
    try:
        with archive.open(entry.info) as stream:
            while chunk := stream.read(_CHUNK):
                total += len(chunk)
                if total > cap:
                    raise CorruptArchive(f"the entry inflates past {cap} bytes", entry=entry.name)
                yield chunk
    except (zipfile.BadZipFile, EOFError, zlib.error, ValueError, struct.error) as exc:
        raise CorruptArchive(f"the entry cannot be read: {exc}", entry=entry.name) from exc


def _find(archive: _Archive, name: str) -> _Entry | None:
    return next((entry for entry in archive.entries if entry.name == name), None)
