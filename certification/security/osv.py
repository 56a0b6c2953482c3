"""OSV vulnerability records: parsing, package keys, and loading a directory, file or zip of them.

The format is the OSV schema (ossf.github.io/osv-schema). Records are matched to SBOM components
by `PackageKey` (ecosystem, normalised name); the Django side stores those keys next to each
advisory so a scan only loads the advisories that can concern its components.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from packageurl import PackageURL

from certification.security.errors import (
    OsvArchiveError,
    OsvPathNotFound,
    OsvRecordInvalid,
)
from edgeplug.text import holds_lone_surrogate, holds_nul

EVENT_KINDS = ("introduced", "fixed", "last_affected", "limit")
RANGE_TYPES = ("SEMVER", "ECOSYSTEM", "GIT")


class PackageKey(NamedTuple):
    """What an advisory and a component are matched on, e.g. ("PyPI", "jinja2")."""

    ecosystem: str
    name: str


# Canonical spelling of the OSV ecosystems we know, looked up case-insensitively so that a feed
# writing "pypi" still lands on the same key as a purl of type pypi.
_CANONICAL_ECOSYSTEMS = {
    name.casefold(): name
    for name in (
        "PyPI",
        "npm",
        "Maven",
        "Go",
        "crates.io",
        "NuGet",
        "RubyGems",
        "Packagist",
        "Hex",
        "Pub",
        "Debian",
        "Ubuntu",
        "Alpine",
        "ConanCenter",
        "Hackage",
        "CRAN",
        "SwiftURL",
        "GitHub Actions",
    )
}

# purl type -> OSV ecosystem. Types without an OSV ecosystem (generic, github, ...) cannot be
# matched against OSV data and are reported as not scannable.
PURL_TYPE_TO_ECOSYSTEM = {
    "pypi": "PyPI",
    "npm": "npm",
    "maven": "Maven",
    "golang": "Go",
    "cargo": "crates.io",
    "nuget": "NuGet",
    "gem": "RubyGems",
    "composer": "Packagist",
    "hex": "Hex",
    "pub": "Pub",
    "deb": "Debian",
    "apk": "Alpine",
    "conan": "ConanCenter",
    "hackage": "Hackage",
    "cran": "CRAN",
    "swift": "SwiftURL",
}

_DEBIAN_CODENAMES = {"buster": "10", "bullseye": "11", "bookworm": "12", "trixie": "13"}

# Ecosystems whose registries treat names case-insensitively.
_CASE_INSENSITIVE = frozenset({"npm", "NuGet", "crates.io", "Packagist", "Hex", "Pub"})


def ecosystem_base(ecosystem: str) -> str:
    """ "Debian:12" -> "Debian": the release suffix scopes a record but not the version order."""
    return ecosystem.split(":", 1)[0]


def canonical_ecosystem(ecosystem: str) -> str:
    base, colon, suffix = ecosystem.partition(":")
    return _CANONICAL_ECOSYSTEMS.get(base.casefold(), base) + colon + suffix


def normalise_package_name(ecosystem: str, name: str) -> str:
    base = ecosystem_base(ecosystem)
    if base == "PyPI":
        # PEP 503: runs of "-", "_" and "." are one "-", case-insensitive.
        return re.sub(r"[-_.]+", "-", name).lower()
    if base in _CASE_INSENSITIVE:
        return name.lower()
    return name


def package_key(ecosystem: str, name: str) -> PackageKey:
    canonical = canonical_ecosystem(ecosystem)
    return PackageKey(canonical, normalise_package_name(canonical, name))


def _purl_name(purl: PackageURL) -> str:
    namespace = purl.namespace or ""
    if purl.type == "maven":
        return f"{namespace}:{purl.name}"
    if purl.type in ("npm", "golang", "composer", "swift") and namespace:
        return f"{namespace}/{purl.name}"
    return purl.name


def _distro_release(purl: PackageURL) -> str:
    """OSV scopes Debian and Alpine records by release ("Debian:12", "Alpine:v3.18")."""
    qualifiers = purl.qualifiers if isinstance(purl.qualifiers, dict) else {}
    distro = str(qualifiers.get("distro", ""))
    if purl.type == "deb":
        release = distro.removeprefix("debian-")
        release = _DEBIAN_CODENAMES.get(release, release)
        return f":{release}" if re.fullmatch(r"\d+", release) else ""
    match = re.fullmatch(r"(?:alpine-)?v?(\d+\.\d+)(?:\.\d+)?", distro)
    return f":v{match.group(1)}" if match else ""


def package_key_for_purl(purl: PackageURL) -> PackageKey | None:
    """The OSV key for a purl, or None when its type has no OSV ecosystem."""
    ecosystem = PURL_TYPE_TO_ECOSYSTEM.get(purl.type)
    if ecosystem is None:
        return None
    if purl.type == "deb" and purl.namespace != "debian":
        # Ubuntu and other derivatives version their packages differently from Debian.
        return None
    if purl.type == "apk" and purl.namespace != "alpine":
        return None
    if purl.type in ("deb", "apk"):
        ecosystem += _distro_release(purl)
    return package_key(ecosystem, _purl_name(purl))


@dataclass(frozen=True)
class OsvEvent:
    kind: str
    version: str


@dataclass(frozen=True)
class OsvRange:
    type: str
    events: tuple[OsvEvent, ...]
    repo: str | None = None


@dataclass(frozen=True)
class OsvSeverity:
    type: str
    score: str


@dataclass(frozen=True)
class OsvPackage:
    ecosystem: str
    name: str
    purl: str | None = None

    @property
    def key(self) -> PackageKey:
        return package_key(self.ecosystem, self.name)


@dataclass(frozen=True)
class OsvAffected:
    package: OsvPackage | None
    ranges: tuple[OsvRange, ...] = ()
    versions: tuple[str, ...] = ()
    severity: tuple[OsvSeverity, ...] = ()
    ecosystem_specific: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)
    database_specific: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class OsvRecord:
    id: str
    modified: datetime
    published: datetime | None = None
    withdrawn: datetime | None = None
    aliases: tuple[str, ...] = ()
    summary: str = ""
    details: str = ""
    severity: tuple[OsvSeverity, ...] = ()
    affected: tuple[OsvAffected, ...] = ()
    schema_version: str = "1.0.0"
    database_specific: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)
    # The record as published, for storing and re-parsing; not part of equality.
    raw: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False, repr=False)

    @property
    def package_keys(self) -> frozenset[PackageKey]:
        return frozenset(a.package.key for a in self.affected if a.package is not None)

    def is_withdrawn(self, at: datetime | None = None) -> bool:
        return self.withdrawn is not None and self.withdrawn <= (at or datetime.now(UTC))


# --- parsing: each predicate raises OsvRecordInvalid with what is wrong -----------------------


def _require_mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise OsvRecordInvalid(f"{where} must be an object")
    return value


def _optional_str(data: Mapping[str, Any], key: str, where: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise OsvRecordInvalid(f"{where}.{key} must be a string")
    return value


def _required_str(data: Mapping[str, Any], key: str, where: str) -> str:
    value = _optional_str(data, key, where)
    if not value:
        raise OsvRecordInvalid(f"{where}.{key} is required")
    return value


def _str_list(data: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = data.get(key) or []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise OsvRecordInvalid(f"{where}.{key} must be a list of strings")
    return tuple(value)


def _object_list(data: Mapping[str, Any], key: str, where: str) -> list[Mapping[str, Any]]:
    value = data.get(key) or []
    if not isinstance(value, list):
        raise OsvRecordInvalid(f"{where}.{key} must be a list")
    return [_require_mapping(item, f"{where}.{key}[{i}]") for i, item in enumerate(value)]


_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_timestamp(value: str, where: str) -> datetime:
    """RFC 3339 as OSV writes it, as its instant in UTC; naive times are UTC, sub-microsecond
    digits are dropped. A time outside years 1-9999 once in UTC ("9999-12-31T23:30:00-01:00")
    is refused: PostgreSQL would store it, and no read of it back would succeed."""
    try:
        parsed = datetime.fromisoformat(_FRACTION.sub(r"\1", value.strip()))
    except ValueError as exc:
        raise OsvRecordInvalid(f"{where} is not an RFC 3339 timestamp: {value!r}") from exc
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError as exc:  # past what psycopg reads back: Python's years 1-9999
        raise OsvRecordInvalid(f"{where} is outside years 1-9999 in UTC: {value!r}") from exc


def _optional_timestamp(data: Mapping[str, Any], key: str) -> datetime | None:
    value = _optional_str(data, key, "record")
    return parse_timestamp(value, key) if value else None


def _parse_severity(data: Mapping[str, Any], where: str) -> tuple[OsvSeverity, ...]:
    return tuple(
        OsvSeverity(
            type=_required_str(item, "type", f"{where}.severity[{i}]"),
            score=_required_str(item, "score", f"{where}.severity[{i}]"),
        )
        for i, item in enumerate(_object_list(data, "severity", where))
    )


def _parse_event(data: Mapping[str, Any], where: str) -> OsvEvent:
    present = [kind for kind in EVENT_KINDS if kind in data]
    if len(present) != 1:
        raise OsvRecordInvalid(f"{where} must have exactly one of {', '.join(EVENT_KINDS)}")
    return OsvEvent(kind=present[0], version=_required_str(data, present[0], where))


def _parse_range(data: Mapping[str, Any], where: str) -> OsvRange:
    range_type = _required_str(data, "type", where)
    if range_type not in RANGE_TYPES:
        raise OsvRecordInvalid(f"{where}.type must be one of {', '.join(RANGE_TYPES)}")
    events = tuple(
        _parse_event(item, f"{where}.events[{i}]")
        for i, item in enumerate(_object_list(data, "events", where))
    )
    if not any(event.kind == "introduced" for event in events):
        raise OsvRecordInvalid(f"{where}.events needs at least one introduced event")
    return OsvRange(type=range_type, events=events, repo=_optional_str(data, "repo", where))


def _parse_package(data: Any, where: str) -> OsvPackage | None:
    if data is None:
        return None
    package = _require_mapping(data, where)
    return OsvPackage(
        ecosystem=_required_str(package, "ecosystem", where),
        name=_required_str(package, "name", where),
        # Kept as written: real records carry malformed purls ("pkg:pypi:requests") and matching
        # goes by ecosystem and name, never by this field.
        purl=_optional_str(package, "purl", where),
    )


def _specific(data: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = data.get(key) or {}
    return _require_mapping(value, f"{where}.{key}")


def _parse_affected(data: Mapping[str, Any], where: str) -> OsvAffected:
    return OsvAffected(
        package=_parse_package(data.get("package"), f"{where}.package"),
        ranges=tuple(
            _parse_range(item, f"{where}.ranges[{i}]")
            for i, item in enumerate(_object_list(data, "ranges", where))
        ),
        versions=_str_list(data, "versions", where),
        severity=_parse_severity(data, where),
        ecosystem_specific=_specific(data, "ecosystem_specific", where),
        database_specific=_specific(data, "database_specific", where),
    )


def _reject_text_no_database_holds(record: Mapping[str, Any]) -> None:
    """Every string of the record (keys too, and fields kept only in the stored raw record):
    U+0000 or a lone surrogate is valid JSON, but no PostgreSQL text or jsonb value holds it,
    and one such record failed the whole batch it was stored in."""
    if holds_nul(record):
        raise OsvRecordInvalid("record holds U+0000 (NUL), which no database stores")
    if holds_lone_surrogate(record):
        raise OsvRecordInvalid("record holds a lone UTF-16 surrogate, which no database stores")


def parse_osv_record(data: Any, *, source: str = "") -> OsvRecord:
    """Validate and parse one OSV record (the decoded JSON object)."""
    try:
        record = _require_mapping(data, "record")
        _reject_text_no_database_holds(record)
        record_id = _required_str(record, "id", "record")
        if len(record_id) > 255:
            raise OsvRecordInvalid("record.id is longer than 255 characters")
        return OsvRecord(
            id=record_id,
            modified=parse_timestamp(_required_str(record, "modified", "record"), "modified"),
            published=_optional_timestamp(record, "published"),
            withdrawn=_optional_timestamp(record, "withdrawn"),
            aliases=_str_list(record, "aliases", "record"),
            summary=_optional_str(record, "summary", "record") or "",
            details=_optional_str(record, "details", "record") or "",
            severity=_parse_severity(record, "record"),
            affected=tuple(
                _parse_affected(item, f"affected[{i}]")
                for i, item in enumerate(_object_list(record, "affected", "record"))
            ),
            schema_version=_optional_str(record, "schema_version", "record") or "1.0.0",
            database_specific=_specific(record, "database_specific", "record"),
            raw=record,
        )
    except OsvRecordInvalid as exc:
        raise OsvRecordInvalid(exc.detail, source=source) from None


# --- loading files --------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadLimits:
    """Caps for reading an OSV export. The defaults fit OSV's largest per-ecosystem zips (npm,
    with its many malicious-package records) while refusing a zip bomb long before memory."""

    max_entries: int = 2_000_000
    max_entry_bytes: int = 32 * 1024 * 1024
    max_total_bytes: int = 16 * 1024 * 1024 * 1024
    # JSON compresses well; a huge ratio on a large entry is a bomb, not an advisory.
    max_compression_ratio: int = 200
    ratio_checked_above_bytes: int = 1024 * 1024


DEFAULT_LIMITS = LoadLimits()


def _archive_error(code: str, detail: str) -> OsvArchiveError:
    return OsvArchiveError(detail, code=code)


def _check_zip_entry(info: zipfile.ZipInfo, limits: LoadLimits) -> None:
    if info.flag_bits & 0x1:
        raise _archive_error("osv_entry_encrypted", f"{info.filename}: encrypted entry")
    if info.file_size > limits.max_entry_bytes:
        raise _archive_error(
            "osv_entry_too_large",
            f"{info.filename}: {info.file_size} bytes, cap {limits.max_entry_bytes}",
        )
    if (
        info.file_size > limits.ratio_checked_above_bytes
        and info.file_size > limits.max_compression_ratio * max(info.compress_size, 1)
    ):
        raise _archive_error(
            "osv_compression_ratio", f"{info.filename}: compression ratio above cap"
        )


def _iter_zip(path: Path, limits: LoadLimits) -> Iterator[tuple[str, bytes]]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _archive_error("osv_archive_invalid", f"{path.name}: not a zip archive") from exc
    with archive:
        entries = archive.infolist()
        if len(entries) > limits.max_entries:
            raise _archive_error(
                "osv_archive_too_many_entries",
                f"{path.name}: {len(entries)} entries, cap {limits.max_entries}",
            )
        total = 0
        for info in entries:
            if info.is_dir() or not info.filename.lower().endswith(".json"):
                continue
            _check_zip_entry(info, limits)
            try:
                with archive.open(info) as handle:
                    # Read one byte past the cap: the declared size in the directory can lie.
                    content = handle.read(limits.max_entry_bytes + 1)
            except (zipfile.BadZipFile, OSError, NotImplementedError) as exc:
                raise _archive_error(
                    "osv_archive_invalid", f"{info.filename}: unreadable entry"
                ) from exc
            if len(content) > limits.max_entry_bytes:
                raise _archive_error("osv_entry_too_large", f"{info.filename}: above the cap")
            total += len(content)
            if total > limits.max_total_bytes:
                raise _archive_error(
                    "osv_archive_too_large",
                    f"{path.name}: more than {limits.max_total_bytes} bytes",
                )
            yield f"{path.name}:{info.filename}", content


def _read_file(path: Path, limits: LoadLimits) -> bytes:
    size = path.stat().st_size
    if size > limits.max_entry_bytes:
        raise _archive_error("osv_entry_too_large", f"{path.name}: {size} bytes")
    return path.read_bytes()


def iter_osv_documents(
    path: Path | str, limits: LoadLimits = DEFAULT_LIMITS
) -> Iterator[tuple[str, bytes]]:
    """Yield (source name, JSON bytes) from a directory of .json files, one .json, or a .zip."""
    root = Path(path)
    if not root.exists():
        raise OsvPathNotFound(f"{root}: no such file or directory")
    if root.is_dir():
        # Symlinks are skipped so an import never reads outside the tree it was pointed at.
        files = sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())
        for file in files:
            suffix = file.suffix.lower()
            if suffix == ".json":
                yield str(file.relative_to(root)), _read_file(file, limits)
            elif suffix == ".zip":
                yield from _iter_zip(file, limits)
    elif root.suffix.lower() == ".zip" or zipfile.is_zipfile(root):
        yield from _iter_zip(root, limits)
    else:
        yield root.name, _read_file(root, limits)


def _decode_records(source: str, content: bytes) -> list[Any]:
    try:
        document = json.loads(content)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise OsvRecordInvalid("not valid JSON", source=source) from exc
    # One record per file is the norm; a JSON array of records is accepted too.
    return document if isinstance(document, list) else [document]


def load_osv_path(
    path: Path | str,
    *,
    limits: LoadLimits = DEFAULT_LIMITS,
    on_invalid: Callable[[OsvRecordInvalid], None] | None = None,
) -> Iterator[OsvRecord]:
    """Parse every OSV record under `path`.

    An invalid record raises OsvRecordInvalid, unless `on_invalid` is given: then it is passed the
    error and loading goes on, so one bad record in a 200 MB export does not stop an import.
    Archive-level problems (missing path, zip bomb, encrypted entries) always raise.
    """
    for source, content in iter_osv_documents(path, limits):
        try:
            documents = _decode_records(source, content)
        except OsvRecordInvalid as exc:
            if on_invalid is None:
                raise
            on_invalid(exc)
            continue
        for document in documents:
            try:
                yield parse_osv_record(document, source=source)
            except OsvRecordInvalid as exc:
                if on_invalid is None:
                    raise
                on_invalid(exc)
