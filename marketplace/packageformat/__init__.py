"""The ``.epk`` agent package format: one validator shared by the server and the vendor CLI.

Pure Python, no Django: ``edgeplug pack`` and ``edgeplug verify`` import it on a vendor's
machine. See ``docs/package-format.md`` for the format itself.
"""

from .archive import PackageEntry, ValidatedPackage, inspect_package, reject_oversized
from .errors import PackageError
from .limits import DEFAULT_LIMITS, Limits
from .manifest import MANIFEST_NAME, check_referenced_files, parse_manifest, validate_manifest
from .pack import build_archive, pack_directory
from .record import RECORD_NAME, Record, RecordEntry, parse_record, write_record
from .schema import SCHEMA_MEDIA_TYPE, manifest_schema, manifest_schema_bytes

__all__ = [
    "DEFAULT_LIMITS",
    "MANIFEST_NAME",
    "RECORD_NAME",
    "SCHEMA_MEDIA_TYPE",
    "Limits",
    "PackageEntry",
    "PackageError",
    "Record",
    "RecordEntry",
    "ValidatedPackage",
    "build_archive",
    "check_referenced_files",
    "inspect_package",
    "manifest_schema",
    "manifest_schema_bytes",
    "pack_directory",
    "parse_manifest",
    "parse_record",
    "reject_oversized",
    "validate_manifest",
    "write_record",
]
