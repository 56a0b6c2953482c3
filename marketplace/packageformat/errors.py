"""Refusals raised while reading or building an agent package, one class per stable code.

The API turns any ``PackageError`` into ``{"code": ..., "detail": ...}`` with its ``status``.
Statuses: 400 when the upload is not a readable zip at all, 413 when a size or count cap is
exceeded, 422 when a readable archive or its manifest breaks a rule of the format.
"""

from __future__ import annotations

from typing import Any, ClassVar


class PackageError(Exception):
    """Base class: ``code`` is stable, ``detail`` is for humans, ``status`` is the HTTP status.

    ``entry`` names the archive entry and ``path`` the JSON path in the manifest when the
    refusal is about one of them.
    """

    code: ClassVar[str] = "invalid_package"
    status: ClassVar[int] = 422

    def __init__(self, detail: str, *, entry: str | None = None, path: str | None = None):
        super().__init__(detail)
        self.detail = detail
        self.entry = entry
        self.path = path

    def as_dict(self) -> dict[str, Any]:
        """The JSON body of the refusal, without empty fields."""
        body: dict[str, Any] = {"code": self.code, "detail": self.detail}
        if self.entry is not None:
            body["entry"] = self.entry
        if self.path is not None:
            body["path"] = self.path
        return body


# The container itself


class NotAZip(PackageError):
    code = "not_a_zip"
    status = 400


class CorruptArchive(PackageError):
    code = "corrupt_archive"
    status = 400


class PackageTooLarge(PackageError):
    code = "package_too_large"
    status = 413


class TooManyEntries(PackageError):
    code = "too_many_entries"
    status = 413


class UncompressedTooLarge(PackageError):
    code = "uncompressed_too_large"
    status = 413


class CompressionBomb(PackageError):
    code = "compression_bomb"
    status = 413


class UnaccountedData(PackageError):
    code = "unaccounted_data"


class OverlappingEntries(PackageError):
    code = "overlapping_entries"


# Individual entries


class AbsolutePath(PackageError):
    code = "absolute_path"


class PathTraversal(PackageError):
    code = "path_traversal"


class InvalidEntryName(PackageError):
    code = "invalid_entry_name"


class NonUtf8Name(PackageError):
    code = "non_utf8_name"


class DirectoryEntry(PackageError):
    code = "directory_entry"


class SymlinkEntry(PackageError):
    code = "symlink_entry"


class SpecialEntry(PackageError):
    code = "special_entry"


class DuplicateEntry(PackageError):
    code = "duplicate_entry"


class EncryptedEntry(PackageError):
    code = "encrypted_entry"


class UnsupportedCompression(PackageError):
    code = "unsupported_compression"


# RECORD


class MissingRecord(PackageError):
    code = "missing_record"


class RecordTooLarge(PackageError):
    code = "record_too_large"
    status = 413


class MalformedRecord(PackageError):
    code = "malformed_record"


class MissingFile(PackageError):
    code = "missing_file"


class UnrecordedFile(PackageError):
    code = "unrecorded_file"


class DigestMismatch(PackageError):
    code = "digest_mismatch"


class SizeMismatch(PackageError):
    code = "size_mismatch"


# manifest.json


class MissingManifest(PackageError):
    code = "missing_manifest"


class ManifestTooLarge(PackageError):
    code = "manifest_too_large"
    status = 413


class ManifestNotUtf8(PackageError):
    code = "manifest_not_utf8"


class InvalidJson(PackageError):
    code = "invalid_json"


class DuplicateJsonKey(PackageError):
    code = "duplicate_json_key"


class ManifestNotObject(PackageError):
    code = "manifest_not_object"


class ManifestTooDeep(PackageError):
    code = "manifest_too_deep"


class StringTooLong(PackageError):
    code = "string_too_long"


class NulCharacter(PackageError):
    code = "nul_character"


class UnsupportedSchemaVersion(PackageError):
    code = "unsupported_schema_version"


class InvalidVersion(PackageError):
    code = "invalid_version"


class SchemaViolation(PackageError):
    code = "schema_violation"


class ManifestInconsistent(PackageError):
    code = "manifest_inconsistent"


class ReferencedFileMissing(PackageError):
    code = "referenced_file_missing"


class WrongFileExtension(PackageError):
    code = "wrong_file_extension"


# Every refusal by its code: for the API's error catalogue and the documentation check.
ERRORS_BY_CODE: dict[str, type[PackageError]] = {
    cls.code: cls for cls in PackageError.__subclasses__()
}
