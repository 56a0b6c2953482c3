"""Refusals raised while reading or building an agent package, one class per stable code.

The API turns any ``PackageError`` into ``{"code": ..., "detail": ...}`` with its ``status``.
Statuses: 400 when the upload is not a readable zip at all (``Unreadable``), 413 when a size or
count cap is exceeded (``OverLimit``), 422 when a readable archive or its manifest breaks a rule
of the format (any other ``PackageError``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from edgeplug.errors import DomainError


class PackageError(DomainError, code="invalid_package", status=422):
    """``entry`` names the archive entry and ``path`` the JSON path in the manifest when the
    refusal is about one of them.
    """

    def __init__(self, detail: str, *, entry: str | None = None, path: str | None = None):
        super().__init__(detail)
        self.entry = entry
        self.path = path

    def extra(self) -> dict[str, Any]:
        return {"entry": self.entry, "path": self.path}


class Unreadable(PackageError, status=400):
    """The upload is not a readable zip at all."""


class OverLimit(PackageError, status=413):
    """A size or count cap is exceeded."""


# The container itself


class NotAZip(Unreadable, code="not_a_zip"): ...


class CorruptArchive(Unreadable, code="corrupt_archive"): ...


class PackageTooLarge(OverLimit, code="package_too_large"): ...


class TooManyEntries(OverLimit, code="too_many_entries"): ...


class UncompressedTooLarge(OverLimit, code="uncompressed_too_large"): ...


class CompressionBomb(OverLimit, code="compression_bomb"): ...


class UnaccountedData(PackageError, code="unaccounted_data"): ...


class OverlappingEntries(PackageError, code="overlapping_entries"): ...


# Individual entries


class AbsolutePath(PackageError, code="absolute_path"): ...


class PathTraversal(PackageError, code="path_traversal"): ...


class InvalidEntryName(PackageError, code="invalid_entry_name"): ...


class NonUtf8Name(PackageError, code="non_utf8_name"): ...


class DirectoryEntry(PackageError, code="directory_entry"): ...


class SymlinkEntry(PackageError, code="symlink_entry"): ...


class SpecialEntry(PackageError, code="special_entry"): ...


class DuplicateEntry(PackageError, code="duplicate_entry"): ...


class EncryptedEntry(PackageError, code="encrypted_entry"): ...


class UnsupportedCompression(PackageError, code="unsupported_compression"): ...


# RECORD


class MissingRecord(PackageError, code="missing_record"): ...


class RecordTooLarge(OverLimit, code="record_too_large"): ...


class MalformedRecord(PackageError, code="malformed_record"): ...


class MissingFile(PackageError, code="missing_file"): ...


class UnrecordedFile(PackageError, code="unrecorded_file"): ...


class DigestMismatch(PackageError, code="digest_mismatch"): ...


class SizeMismatch(PackageError, code="size_mismatch"): ...


# The files' contents: none is a signing key file (``edgeplug keygen``'s), which would give
# whoever bought the version the vendor's private key.


class PrivateKeyInPackage(PackageError, code="private_key_in_package"): ...


# manifest.json


class MissingManifest(PackageError, code="missing_manifest"): ...


class ManifestTooLarge(OverLimit, code="manifest_too_large"): ...


class ManifestNotUtf8(PackageError, code="manifest_not_utf8"): ...


class InvalidJson(PackageError, code="invalid_json"): ...


class DuplicateJsonKey(PackageError, code="duplicate_json_key"): ...


class ManifestNotObject(PackageError, code="manifest_not_object"): ...


class ManifestTooDeep(PackageError, code="manifest_too_deep"): ...


class StringTooLong(PackageError, code="string_too_long"): ...


class NulCharacter(PackageError, code="nul_character"): ...


class SurrogateCharacter(PackageError, code="surrogate_character"): ...


class UnsupportedSchemaVersion(PackageError, code="unsupported_schema_version"): ...


class InvalidVersion(PackageError, code="invalid_version"): ...


class SchemaViolation(PackageError, code="schema_violation"): ...


class ManifestInconsistent(PackageError, code="manifest_inconsistent"): ...


class ReferencedFileMissing(PackageError, code="referenced_file_missing"): ...


class WrongFileExtension(PackageError, code="wrong_file_extension"): ...


def _descendants(cls: type[PackageError]) -> Iterator[type[PackageError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _descendants(sub)


# Every refusal by its code (the status groups name none): for the API's error catalogue and
# the documentation check.
ERRORS_BY_CODE: dict[str, type[PackageError]] = {
    cls.code: cls for cls in _descendants(PackageError) if "code" in vars(cls)
}
