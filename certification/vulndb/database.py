"""The offline vulnerability database: importing OSV exports, looking advisories up, level policy.

`import_osv` is the one way advisories are written (the `import_osv` command calls it); the
security stage and the re-scan read through `advisories_for`, `database_status` and `policy_for`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from celery import signature
from django.db import transaction
from django.utils import timezone

from certification.models import Advisory, AdvisoryImport, AdvisoryPackage, SecurityPolicyOverride
from certification.security.errors import OsvRecordInvalid
from certification.security.osv import OsvRecord, PackageKey, load_osv_path, parse_osv_record
from certification.security.policy import SecurityPolicy
from certification.security.severity import SeverityAssessment, assess_severity
from edgeplug.audit.services import record_event

logger = logging.getLogger(__name__)

# Records written per transaction: an export of 200,000 advisories never holds one long lock.
BATCH_SIZE = 500
# Kept below every database's limit on query parameters.
_QUERY_CHUNK = 500
MAX_REPORTED_INVALID = 20

T = TypeVar("T")


@dataclass(frozen=True)
class ImportReport:
    path: str
    created: int
    updated: int
    unchanged: int
    invalid: int
    # The first MAX_REPORTED_INVALID problems, "source: detail".
    invalid_examples: tuple[str, ...]
    started_at: datetime
    finished_at: datetime
    advisories_in_db: int

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)


@dataclass(frozen=True)
class DatabaseStatus:
    advisories: int
    # The end of the last import, whether or not it changed anything.
    imported_at: datetime | None


def _chunks(items: list[T], size: int = _QUERY_CHUNK) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def cached_severity(record: OsvRecord) -> SeverityAssessment:
    """The highest severity over the record's affected packages, for listing advisories."""
    assessments = [assess_severity(record, affected) for affected in record.affected]
    assessments = assessments or [assess_severity(record)]
    return max(assessments, key=lambda a: (a.severity.rank, a.score or 0.0))


def _fields(record: OsvRecord, source: str) -> dict:
    severity = cached_severity(record)
    return {
        "aliases": list(record.aliases),
        "summary": record.summary,
        "modified": record.modified,
        "published": record.published,
        "withdrawn": record.withdrawn,
        "severity": str(severity.severity),
        "score": None if severity.score is None else Decimal(f"{severity.score:.1f}"),
        "raw": dict(record.raw),
        "source": source[:500],
    }


def _package_rows(advisory: Advisory, record: OsvRecord) -> list[AdvisoryPackage]:
    return [
        AdvisoryPackage(advisory=advisory, ecosystem=key.ecosystem, name=key.name)
        for key in sorted(record.package_keys)
    ]


class _Importer:
    def __init__(self, source: str) -> None:
        self.source = source
        self.now = timezone.now()
        self.created = self.updated = self.unchanged = self.invalid = 0
        self.invalid_examples: list[str] = []

    def reject(self, error: OsvRecordInvalid) -> None:
        self.invalid += 1
        if len(self.invalid_examples) < MAX_REPORTED_INVALID:
            self.invalid_examples.append(str(error))

    def run(self, records: Iterable[OsvRecord]) -> None:
        batch: dict[str, OsvRecord] = {}
        for record in records:
            seen = batch.get(record.id)
            if seen is not None:
                # The same id twice in one export: keep the newer copy, count the other once.
                self.unchanged += 1
                if seen.modified >= record.modified:
                    continue
            batch[record.id] = record
            if len(batch) >= BATCH_SIZE:
                self.write(batch)
                batch = {}
        if batch:
            self.write(batch)

    @transaction.atomic
    def write(self, batch: dict[str, OsvRecord]) -> None:
        existing = {
            advisory.osv_id: advisory
            for advisory in Advisory.objects.select_for_update().filter(osv_id__in=list(batch))
        }
        fresh: list[tuple[Advisory, OsvRecord]] = []
        for osv_id, record in batch.items():
            current = existing.get(osv_id)
            if current is None:
                advisory = Advisory(
                    osv_id=osv_id,
                    imported_at=self.now,
                    updated_at=self.now,
                    **_fields(record, self.source),
                )
                fresh.append((advisory, record))
            elif record.modified > current.modified:
                self.replace(current, record)
            else:
                # Same or older than stored: an older export never rolls an advisory back.
                self.unchanged += 1
        Advisory.objects.bulk_create([advisory for advisory, _ in fresh])
        AdvisoryPackage.objects.bulk_create(
            [row for advisory, record in fresh for row in _package_rows(advisory, record)]
        )
        self.created += len(fresh)

    def replace(self, advisory: Advisory, record: OsvRecord) -> None:
        for name, value in _fields(record, self.source).items():
            setattr(advisory, name, value)
        advisory.updated_at = self.now
        advisory.save()
        advisory.packages.all().delete()
        AdvisoryPackage.objects.bulk_create(_package_rows(advisory, record))
        self.updated += 1


def import_osv(path: Path | str, *, rescan: bool = True, actor=None) -> ImportReport:
    """Load the OSV records under `path` (directory, .json or .zip) into the database.

    Idempotent: an advisory is created once and rewritten only when its `modified` time is
    newer than the stored one. Invalid records are counted and skipped; a missing path or a
    hostile archive raises the OsvError that `load_osv_path` raises (records written before it
    stay, and a second run completes them). When anything changed and `rescan` is true, the
    re-scan of every certified version is queued once the import has committed.
    """
    started = timezone.now()
    importer = _Importer(str(path))
    importer.run(load_osv_path(path, on_invalid=importer.reject))
    finished = timezone.now()
    with transaction.atomic():
        AdvisoryImport.objects.create(
            path=str(path)[:1000],
            started_at=started,
            finished_at=finished,
            created=importer.created,
            updated=importer.updated,
            unchanged=importer.unchanged,
            invalid=importer.invalid,
        )
        report = ImportReport(
            path=str(path),
            created=importer.created,
            updated=importer.updated,
            unchanged=importer.unchanged,
            invalid=importer.invalid,
            invalid_examples=tuple(importer.invalid_examples),
            started_at=started,
            finished_at=finished,
            advisories_in_db=Advisory.objects.count(),
        )
        record_event(
            "advisories_imported",
            actor=actor,
            target=str(path),
            details={
                "created": report.created,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "invalid": report.invalid,
            },
        )
        if report.changed and rescan:
            enqueue_rescan()
    logger.info(
        "imported OSV advisories from %s: %d created, %d updated, %d unchanged, %d invalid",
        path,
        report.created,
        report.updated,
        report.unchanged,
        report.invalid,
    )
    return report


RESCAN_TASK = "certification.vulndb.rescan_certified_versions"


def enqueue_rescan() -> None:
    """Queue the re-scan of every certified version once the current transaction commits.
    The task is named, not imported: this module is an action, the task module a door."""
    transaction.on_commit(lambda: signature(RESCAN_TASK).delay())


def advisories_for(package_keys: Iterable[PackageKey]) -> list[OsvRecord]:
    """The stored advisories that affect any of these (ecosystem, name) keys, parsed."""
    keys = frozenset(package_keys)
    if not keys:
        return []
    advisory_ids: set[int] = set()
    for names in _chunks(sorted({key.name for key in keys})):
        rows = AdvisoryPackage.objects.filter(name__in=names).values_list(
            "advisory_id", "ecosystem", "name"
        )
        advisory_ids.update(pk for pk, eco, name in rows if PackageKey(eco, name) in keys)
    records: list[OsvRecord] = []
    for ids in _chunks(sorted(advisory_ids)):
        for osv_id, raw in Advisory.objects.filter(pk__in=ids).values_list("osv_id", "raw"):
            records.append(parse_osv_record(raw, source=osv_id))
    return sorted(records, key=lambda record: record.id)


def database_status() -> DatabaseStatus:
    last_import = (
        AdvisoryImport.objects.order_by("-finished_at").values_list("finished_at", flat=True)
    ).first()
    return DatabaseStatus(advisories=Advisory.objects.count(), imported_at=last_import)


def policy_for(level: str) -> SecurityPolicy:
    """The level's default policy with the platform admins' stored overrides applied.

    Raises PolicyInvalid when a stored override no longer fits the policy (a setting renamed
    since it was saved): the stage reports that as a platform error, never as a pass.
    """
    policy = SecurityPolicy.for_level(level)
    row = SecurityPolicyOverride.objects.filter(level=level).first()
    if row is None or not row.overrides:
        return policy
    return policy.with_overrides(row.overrides)


@transaction.atomic
def save_policy_override(
    override: SecurityPolicyOverride, *, actor=None, request=None
) -> SecurityPolicyOverride:
    """Validate and store a level's policy override, and audit who changed it to what."""
    override.full_clean()
    override.updated_by = actor
    override.save()
    record_event(
        "security_policy_changed",
        request=request,
        actor=actor,
        target=f"{override.level} security policy",
        details={"level": override.level, "overrides": override.overrides},
    )
    return override


def reset_policy_override(override: SecurityPolicyOverride, *, actor=None, request=None) -> None:
    """Drop a level's policy override: the level is back on its defaults, audited as a change
    to no overrides (as saving ``{}`` is)."""
    level = override.level
    with transaction.atomic():
        override.delete()
        record_event(
            "security_policy_changed",
            request=request,
            actor=actor,
            target=f"{level} security policy",
            details={"level": level, "overrides": {}, "reset": True},
        )
