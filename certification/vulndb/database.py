"""The offline vulnerability database: importing OSV exports, looking advisories up, level policy.

`import_osv` is the one way advisories are written (the `import_osv` command calls it), one
run at a time; `fail_stalled_imports` closes the runs whose process died (beat calls it every
5 minutes, and an import before it records itself).
The security stage and the re-scan read through `advisories_for`, `database_status` and
`policy_for`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import TypeVar

from celery import signature
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from certification.models import (
    Advisory,
    AdvisoryImport,
    AdvisoryPackage,
    ImportStatus,
    SecurityPolicyOverride,
    stored_level_override,
)
from certification.pipeline.levels import record_override_change, store_level_override
from certification.security.errors import OsvError, OsvRecordInvalid
from certification.security.osv import OsvRecord, PackageKey, load_osv_path, parse_osv_record
from certification.security.policy import SecurityPolicy
from certification.security.severity import SeverityAssessment, assess_severity
from edgeplug.audit.services import record_event
from edgeplug.core.locking import locked, unique_or
from edgeplug.core.queueing import publish
from edgeplug.errors import BrokerUnavailable, Conflict
from edgeplug.timefmt import utc_iso

logger = logging.getLogger(__name__)

# Records written per transaction: an export of 200,000 advisories never holds one long lock.
BATCH_SIZE = 500
# Kept below every database's limit on query parameters.
_QUERY_CHUNK = 500
MAX_REPORTED_INVALID = 20

T = TypeVar("T")


@dataclass(frozen=True)
class ImportReport:
    """A run as its import record holds it (the counts are the record's), plus what only the
    run itself saw."""

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
    status: str = ImportStatus.COMPLETED
    # Why a failed import stopped; the counts above are what it committed before.
    error_code: str = ""
    error_detail: str = ""
    rescan_queued: bool = False
    # The broker's refusal of the re-scan the run asked for (it was not queued).
    rescan_refused: BrokerUnavailable | None = None


class ImportFailed(OsvError):
    """The import stopped on an OsvError (whose code and detail this carries) after committing
    what `report` counts; its import record and audit event say the same."""

    def __init__(self, error: OsvError, report: ImportReport) -> None:
        super().__init__(error.detail, code=error.code)
        self.report = report


class ImportStalled(OsvError, code="import_stalled"):
    """The run committed no batch for OSV_IMPORT_STALL_TIMEOUT_S, so `fail_stalled_imports`
    closed its record as failed; raised in the run if it was alive after all, which stops it
    before it stores another batch."""


class ImportAlreadyRunning(OsvError, Conflict, code="import_already_running", status=409):
    """Another import is running: one runs at a time (two would write the same new advisories
    at once), so this one is refused when it would record itself, before storing anything."""


@dataclass(frozen=True)
class DatabaseStatus:
    advisories: int
    # The end of the last import that completed (whether or not it changed anything) or that
    # failed after changing something.
    imported_at: datetime | None


def stored_score(value: float | None) -> Decimal | None:
    """A CVSS score as the database keeps it, and as the re-scan compares it: one decimal."""
    return None if value is None else Decimal(f"{value:.1f}")


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
        "score": stored_score(severity.score),
        "raw": dict(record.raw),
        "source": source[:500],
    }


def _package_rows(advisory: Advisory, record: OsvRecord) -> list[AdvisoryPackage]:
    return [
        AdvisoryPackage(advisory=advisory, ecosystem=key.ecosystem, name=key.name)
        for key in sorted(record.package_keys)
    ]


class _Importer:
    """Writes the records in batches. The run's import record, created with the first batch, is
    the one home of its counts: each batch's transaction adds what the batch stored to them, so
    the record counts what the database holds even when the run stops on an error or its process
    dies. The importer holds only what no transaction has written yet: the invalid records read
    since the last batch.

    The record is also the run's claim to be the one import running (the database holds one
    `running` record at most): the first batch's transaction creates it before storing
    anything, and each later batch's transaction first checks that it still runs."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.now = timezone.now()
        self.record_id: int | None = None
        self.invalid = 0
        self.invalid_examples: list[str] = []

    def reject(self, error: OsvRecordInvalid) -> None:
        self.invalid += 1
        if len(self.invalid_examples) < MAX_REPORTED_INVALID:
            self.invalid_examples.append(str(error))

    def run(self, records: Iterable[OsvRecord]) -> None:
        batch: dict[str, OsvRecord] = {}
        duplicates = 0
        for record in records:
            seen = batch.get(record.id)
            if seen is not None:
                # The same id twice in one export: keep the newer copy, count the other once,
                # as unchanged, when the batch is stored.
                duplicates += 1
                if seen.modified >= record.modified:
                    continue
            batch[record.id] = record
            if len(batch) >= BATCH_SIZE:
                self.write(batch, duplicates)
                batch, duplicates = {}, 0
        if batch:
            self.write(batch, duplicates)

    def write(self, batch: dict[str, OsvRecord], duplicates: int) -> None:
        if self.record_id is None:
            # A dead run's record would keep this one out until beat's next sweep.
            fail_stalled_imports()
        with transaction.atomic():
            record_id = self.begin() if self.record_id is None else self.resume()
            created, updated, unchanged = self.store(batch)
            added = {
                "created": created,
                "updated": updated,
                "unchanged": unchanged + duplicates,
                "invalid": self.invalid,
            }
            AdvisoryImport.objects.filter(pk=record_id).update(
                last_progress_at=timezone.now(),
                **{name: F(name) + value for name, value in added.items()},
            )
        # Committed: the record counts the invalid records read so far.
        self.record_id = record_id
        self.invalid = 0

    def begin(self) -> int:
        """Create the run's import record, running; ImportAlreadyRunning if another run's is.
        A run that is writing its first batch holds the insert of this one until it commits."""
        try:
            with unique_or(ImportAlreadyRunning(self.source)):
                record = AdvisoryImport.objects.create(
                    path=self.source[:1000],
                    status=ImportStatus.RUNNING,
                    started_at=self.now,
                    last_progress_at=timezone.now(),
                )
        except ImportAlreadyRunning:
            raise ImportAlreadyRunning(self._refusal()) from None
        return record.pk

    def _refusal(self) -> str:
        other = AdvisoryImport.objects.filter(status=ImportStatus.RUNNING).first()
        running = "another import is running"
        if other is not None:
            last = other.last_progress_at or other.started_at
            running = (
                f"import {other.pk} of {other.path} is running (started "
                f"{utc_iso(other.started_at, seconds=True)}, last batch "
                f"{utc_iso(last, seconds=True)})"
            )
        return (
            f"{self.source}: {running}; one import runs at a time. Run this one again once it "
            f"has ended (if its process died, it is closed as import_stalled after "
            f"{settings.OSV_IMPORT_STALL_TIMEOUT_S} s without a batch). Nothing was stored"
        )

    def resume(self) -> int:
        """Mark the run's progress at the start of a batch; ImportStalled if its record was
        closed meanwhile (it hung past the stall timeout, and another import may be running):
        it stops before storing anything more."""
        running = AdvisoryImport.objects.filter(pk=self.record_id, status=ImportStatus.RUNNING)
        if not running.update(last_progress_at=timezone.now()):
            raise ImportStalled(
                f"{self.source}: closed as stalled while it still ran (no batch committed for "
                f"over {settings.OSV_IMPORT_STALL_TIMEOUT_S} s); it stopped there"
            )
        return self.record_id

    def store(self, batch: dict[str, OsvRecord]) -> tuple[int, int, int]:
        """Create or update the batch's advisories; (created, updated, unchanged)."""
        existing = {
            advisory.osv_id: advisory
            for advisory in Advisory.objects.select_for_update().filter(osv_id__in=list(batch))
        }
        fresh: list[tuple[Advisory, OsvRecord]] = []
        updated = unchanged = 0
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
                updated += 1
            else:
                # Same or older than stored: an older export never rolls an advisory back.
                unchanged += 1
        Advisory.objects.bulk_create([advisory for advisory, _ in fresh])
        AdvisoryPackage.objects.bulk_create(
            [row for advisory, record in fresh for row in _package_rows(advisory, record)]
        )
        return len(fresh), updated, unchanged

    def replace(self, advisory: Advisory, record: OsvRecord) -> None:
        for name, value in _fields(record, self.source).items():
            setattr(advisory, name, value)
        advisory.updated_at = self.now
        advisory.save()
        advisory.packages.all().delete()
        AdvisoryPackage.objects.bulk_create(_package_rows(advisory, record))


def import_osv(path: Path | str, *, rescan: bool = True, actor=None) -> ImportReport:
    """Load the OSV records under `path` (directory, .json or .zip) into the database.

    Idempotent: an advisory is created once and rewritten only when its `modified` time is
    newer than the stored one. Invalid records are counted and skipped. A run is an
    `AdvisoryImport` and an `advisories_imported` audit event, and when it created or updated
    anything and `rescan` is true, the re-scan of every certified version is queued as that
    record closes (`enqueue_rescan`); the report's `rescan_refused`, and the event, say when
    the broker refused it.

    A run that stops on an error after committing batches (they stay) is recorded, audited
    and re-scanned all the same, as failed with the error: a missing path or a hostile archive
    then raises ImportFailed (the OsvError's code, with the report), any other error is raised
    as is. One that stops before committing anything changed nothing: its error is raised and
    nothing is recorded. One closed as stalled while it still ran raises ImportFailed with
    `import_stalled`.

    One import runs at a time: while another is running (and has not stalled: a stalled one
    is closed first, as beat's sweep closes it), this one raises ImportAlreadyRunning when it
    would write its first batch, having stored and recorded nothing.
    """
    importer = _Importer(str(path))
    try:
        importer.run(load_osv_path(path, on_invalid=importer.reject))
    except OsvError as exc:
        if importer.record_id is None:
            raise
        report = _finish(importer, rescan=rescan, actor=actor, error=(exc.code, exc.detail))
        raise ImportFailed(exc, report) from exc
    except Exception as exc:
        if importer.record_id is not None:
            failure = ("import_failed", f"{type(exc).__name__}: {exc}")
            _finish(importer, rescan=rescan, actor=actor, error=failure)
        raise
    report = _finish(importer, rescan=rescan, actor=actor)
    if report.status != ImportStatus.COMPLETED:
        raise ImportFailed(ImportStalled(report.error_detail), report)
    return report


def fail_stalled_imports() -> int:
    """Close as failed, with `import_stalled`, each running import that has committed no batch
    for OSV_IMPORT_STALL_TIMEOUT_S: its process died (SIGKILL, out of memory, a restart) before
    it could record why. It ends at its last progress, is audited and re-scanned as any failed
    run, and stays counted as it committed. Returns how many were closed."""
    limit_s = settings.OSV_IMPORT_STALL_TIMEOUT_S
    cutoff = timezone.now() - timedelta(seconds=limit_s)
    stalled = AdvisoryImport.objects.filter(
        Q(last_progress_at__lt=cutoff) | Q(last_progress_at__isnull=True, started_at__lt=cutoff),
        status=ImportStatus.RUNNING,
    )
    closed = 0
    for pk in stalled.values_list("pk", flat=True):
        with transaction.atomic():
            record = locked(AdvisoryImport(pk=pk))
            if not stalled.filter(pk=pk).exists():
                continue  # it committed a batch or ended meanwhile
            last = record.last_progress_at or record.started_at
            detail = (
                f"no progress for over {limit_s} s since {utc_iso(last, seconds=True)}: its "
                "process stopped (killed, out of memory or a restart). What it committed stays; "
                "run the import again."
            )
            report = _close(record, error=("import_stalled", detail), finished_at=last, rescan=True)
        _log(report)
        closed += 1
    return closed


def _finish(
    importer: _Importer, *, rescan: bool, actor, error: tuple[str, str] | None = None
) -> ImportReport:
    """Close the run's import record, adding the invalid records read since its last batch. A
    record closed as stalled meanwhile stays as the sweep left it (audited, re-scan queued)."""
    with transaction.atomic():
        if importer.record_id is None:
            record = AdvisoryImport(
                path=importer.source[:1000], status=ImportStatus.RUNNING, started_at=importer.now
            )
        else:
            record = locked(AdvisoryImport(pk=importer.record_id))
        examples = tuple(importer.invalid_examples)
        if record.status != ImportStatus.RUNNING:
            return _report(record, invalid_examples=examples, rescan_queued=_changed(record))
        record.invalid += importer.invalid
        report = _close(
            record,
            error=error,
            finished_at=timezone.now(),
            rescan=rescan,
            actor=actor,
            invalid_examples=examples,
        )
    _log(report)
    return report


def _changed(record: AdvisoryImport) -> bool:
    return bool(record.created or record.updated)


def _report(
    record: AdvisoryImport,
    *,
    invalid_examples: tuple[str, ...],
    rescan_queued: bool,
    rescan_refused: BrokerUnavailable | None = None,
) -> ImportReport:
    return ImportReport(
        path=record.path,
        created=record.created,
        updated=record.updated,
        unchanged=record.unchanged,
        invalid=record.invalid,
        invalid_examples=invalid_examples,
        started_at=record.started_at,
        finished_at=record.finished_at,
        advisories_in_db=Advisory.objects.count(),
        status=record.status,
        error_code=record.error_code,
        error_detail=record.error_detail,
        rescan_queued=rescan_queued,
        rescan_refused=rescan_refused,
    )


def _close(
    record: AdvisoryImport,
    *,
    finished_at: datetime,
    rescan: bool,
    error: tuple[str, str] | None = None,
    actor=None,
    invalid_examples: tuple[str, ...] = (),
) -> ImportReport:
    """End a running import record as completed, or failed with `error` (code, detail), in the
    caller's transaction: queue the re-scan if it changed anything, and audit it, saying
    whether the broker took the re-scan (`rescan_queued`) or why not (`rescan_error`)."""
    error_code, error_detail = error or ("", "")
    record.status = ImportStatus.FAILED if error else ImportStatus.COMPLETED
    record.finished_at = finished_at
    record.error_code, record.error_detail = error_code[:64], error_detail
    record.save()
    refused = None
    if rescan and _changed(record):
        try:
            enqueue_rescan()
        except BrokerUnavailable as exc:  # the advisories stay: `--rescan=always` queues it later
            refused = exc
    queued = rescan and _changed(record) and refused is None
    report = _report(
        record, invalid_examples=invalid_examples, rescan_queued=queued, rescan_refused=refused
    )
    details = {
        "import": record.pk,
        "status": report.status,
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "invalid": report.invalid,
        "rescan_queued": report.rescan_queued,
    }
    if error:
        details["error"] = {"code": report.error_code, "detail": error_detail[:1000]}
    if refused is not None:
        details["rescan_error"] = {"code": refused.code, "detail": refused.detail}
    record_event("advisories_imported", actor=actor, target=record.path, details=details)
    return report


def _log(report: ImportReport) -> None:
    """Once its record has committed: how the run ended."""
    counts = (report.created, report.updated, report.unchanged, report.invalid)
    if report.error_code:
        logger.warning(
            "OSV import from %s failed (%s: %s) after committing "
            "%d created, %d updated, %d unchanged, %d invalid",
            report.path,
            report.error_code,
            report.error_detail,
            *counts,
        )
    else:
        logger.info(
            "imported OSV advisories from %s: %d created, %d updated, %d unchanged, %d invalid",
            report.path,
            *counts,
        )


RESCAN_TASK = "certification.vulndb.rescan_certified_versions"


def enqueue_rescan() -> None:
    """Queue the re-scan of every certified version now; BrokerUnavailable when the broker
    refuses it. An import queues it as its record closes, before that commits, so the record
    and its audit event say whether it went: the re-scan reads only the advisories, which the
    import's batches have committed already. The task is named, not imported: this module is
    an action, the task module a door."""
    publish(signature(RESCAN_TASK), what="the re-scan of every certified version")


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
        AdvisoryImport.objects.exclude(status=ImportStatus.RUNNING)
        .exclude(status=ImportStatus.FAILED, created=0, updated=0)
        .order_by("-finished_at")
        .values_list("finished_at", flat=True)
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
    """Validate and store a level's policy override, and audit who changed it to what. A row
    stays on its level; saving what is stored already changes and records nothing (as
    ``save_level_thresholds``)."""
    override.full_clean(validate_unique=False)  # one row per level: store_level_override
    stored = stored_level_override(override)
    before = stored.overrides if stored is not None else {}
    if stored is not None and before == override.overrides:
        return stored
    override.updated_by = actor
    store_level_override(override, "security policy")
    _record_policy_change(override.level, before, override.overrides, actor=actor, request=request)
    return override


@transaction.atomic
def reset_policy_override(override: SecurityPolicyOverride, *, actor=None, request=None) -> None:
    """Drop a level's policy override: the level is back on its defaults, audited as a change
    to no overrides with ``reset: true``. The row is locked and read again, as a level's
    thresholds are (``reset_level_thresholds``): of two admins deleting it, the second changes
    and records nothing."""
    stored = stored_level_override(override)
    if stored is None:
        return
    stored.delete()
    _record_policy_change(
        stored.level, stored.overrides, {}, actor=actor, request=request, reset=True
    )


_record_policy_change = partial(
    record_override_change, "security_policy_changed", "security policy"
)
