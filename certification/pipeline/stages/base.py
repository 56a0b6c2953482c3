"""The stage interface: a stage reads a StageContext and returns a StageOutcome.

Stages are plain functions so the Celery task, tests and a future CLI call the same code.
An ``InfrastructureError`` means "try again later" (the task retries with backoff); any
verdict about the package itself is an outcome, never an exception.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from certification.models import StageResult
from certification.pipeline.levels import Thresholds
from edgeplug.errors import DomainError
from marketplace.packageformat import PackageError, ValidatedPackage


class InfrastructureError(DomainError, code="infrastructure_error", status=503):
    """The platform, not the package, failed (storage down, sandbox could not start)."""


@dataclass
class StageContext:
    run_id: int
    level: str
    thresholds: Thresholds
    digest: str
    package_bytes: bytes
    package: ValidatedPackage | None = None
    # Why the stored bytes are not a valid package (the validation stage reports it).
    package_error: PackageError | None = None

    @property
    def manifest(self) -> dict[str, Any]:
        return self.package.manifest if self.package else {}

    def file(self, section: str) -> bytes | None:
        entry = self.manifest.get(section)
        if not isinstance(entry, dict) or "file" not in entry or self.package is None:
            return None
        return self.package.read(entry["file"])


@dataclass
class StageOutcome:
    result: StageResult
    logs: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    findings: list[dict[str, Any]] = field(default_factory=list)
    error_code: str = ""
    # The security stage's every VulnerabilityFinding, however many ``findings`` keeps once
    # bounded: recorded as known at certification (certification.vulndb.rescan).
    vulnerabilities: tuple[Any, ...] = ()

    @classmethod
    def failed(cls, error_code: str, logs: str, **extra: Any) -> "StageOutcome":
        """The package fails the stage, for the reason ``error_code`` names."""
        return cls(StageResult.FAIL, logs=logs, error_code=error_code, **extra)

    @classmethod
    def skipped(cls, reason: str) -> "StageOutcome":
        return cls(
            StageResult.SKIPPED, logs=reason, findings=[{"kind": "skipped", "reason": reason}]
        )


Stage = Callable[[StageContext], StageOutcome]
