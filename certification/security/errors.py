"""Exceptions raised by the security scan, each with a stable machine-readable `code`."""

from __future__ import annotations

from edgeplug.errors import DomainError


class SecurityScanError(DomainError, code="security_scan_error"):
    """Base class: the API and the stage report `{"code": ..., "detail": ...}` from it."""


class SbomError(SecurityScanError, code="sbom_invalid"): ...


class SbomTooLarge(SbomError, code="sbom_too_large"): ...


class SbomInvalidJson(SbomError, code="sbom_invalid_json"): ...


class SbomNotCycloneDx(SbomError, code="sbom_not_cyclonedx"): ...


class SbomUnsupportedSpecVersion(SbomError, code="sbom_unsupported_spec_version"): ...


class SbomTooManyComponents(SbomError, code="sbom_too_many_components"): ...


class SbomControlCharacter(SbomError, code="sbom_control_character"):
    """A component's name, version or purl holds a control character: each is printed as one
    line of what reviewers and vendors read (the stage's logs, the re-scan's emails)."""


class SbomSchemaInvalid(SbomError, code="sbom_schema_invalid"):
    """The document breaks the CycloneDX JSON schema; `errors` lists where and why."""

    def __init__(self, detail: str, errors: tuple[str, ...]) -> None:
        super().__init__(detail)
        self.errors = errors


class OsvError(SecurityScanError, code="osv_invalid"): ...


class OsvPathNotFound(OsvError, code="osv_path_not_found"): ...


class OsvArchiveError(OsvError, code="osv_archive_invalid"):
    """A zip of OSV records that is unreadable or breaks one of the archive caps."""


class OsvRecordInvalid(OsvError, code="osv_record_invalid"):
    """One OSV record that does not follow the OSV schema; `source` names the file it came from."""

    def __init__(self, detail: str, *, source: str = "") -> None:
        super().__init__(f"{source}: {detail}" if source else detail)
        self.source = source


class PolicyInvalid(SecurityScanError, code="policy_invalid"): ...
