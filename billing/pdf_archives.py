"""A month's invoice PDFs as a ZIP built by a worker: finance asks for it on the Exports page
(``request_pdf_archive``), the billing queue builds it into the default storage with its
progress (``build_pdf_archive``, the ZIP of ``exports.pdf_zip``), and the page offers it once
ready. Streaming the ZIP in the web request outlasted the web server's worker timeout (60 s:
about 300 documents) and cut the archive off."""

import logging
import tempfile
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from billing import exports
from billing.errors import PdfArchiveExpired
from billing.models import PDF_ARCHIVE_IN_PROGRESS, PdfArchive, PdfArchiveState
from billing.periods import month_label
from billing.queueing import send_after_commit
from edgeplug.storage_errors import StorageUnavailable, storage_failures

logger = logging.getLogger(__name__)

BUILD_TASK = "billing.tasks.build_pdf_archive"
# An archive being built that has not moved for this long lost its worker (each document
# moves it; one takes well under a second): it is failed (``stalled``), and asking again
# starts a new one.
STALLED_AFTER = timedelta(minutes=15)
STALLED = "No worker moved it for 15 minutes (its worker stopped); ask again."
# A queued one waits for its task behind the billing queue's other work (a month close keeps
# the billing workers busy for hours), so only this much longer wait says its task was lost;
# the task arriving after that finds it failed and builds nothing.
QUEUED_LOST_AFTER = timedelta(hours=24)
QUEUED_LOST = "No worker took its task in 24 hours (the task was lost); ask again."


# Streamed in the web request (``GET exports/pdfs.zip``), a month of up to this many documents
# ends well inside the web server's 60 s worker timeout (about 0.2 s a PDF).
STREAMED_AT_MOST = 100


def too_many_to_stream(start: datetime) -> str | None:
    """Why the month's PDFs are not streamed in the web request (more than
    ``STREAMED_AT_MOST``), or None."""
    count = exports.pdf_documents(start).count()
    if count <= STREAMED_AT_MOST:
        return None
    return (
        f"{month_label(start)} has {count} documents, too many to download at once "
        f"(at most {STREAMED_AT_MOST}): ask for its PDF archive below."
    )


def request_pdf_archive(start: datetime, *, actor=None) -> PdfArchive:
    """The month's archive in progress, or a new one queued for the billing worker: asking
    twice while one is built gives the same archive, not a second build."""
    now = timezone.now()
    with transaction.atomic():
        month = PdfArchive.objects.filter(period_start=start)
        _fail_stalled(month, now)
        building = month.select_for_update().filter(state__in=PDF_ARCHIVE_IN_PROGRESS).first()
        if building:
            return building
        try:
            with transaction.atomic():
                archive = PdfArchive.objects.create(
                    period_start=start, requested_by=actor, requested_at=now, updated_at=now
                )
        except IntegrityError:  # another request queued it a moment ago (and it may be built)
            return PdfArchive.objects.filter(period_start=start).order_by("-requested_at").first()
        send_after_commit(BUILD_TASK, archive.pk)
    return archive


def stalled(archives: QuerySet[PdfArchive], now: datetime) -> QuerySet[PdfArchive]:
    """Those of ``archives`` whose worker stopped or whose task was lost: building and not
    moved for ``STALLED_AFTER``, or queued (not yet taken by a worker) for
    ``QUEUED_LOST_AFTER``. The one stall rule: asking for the month again, a task delivered
    again and the beat job (``fail_stalled_pdf_archives``) all read it here. (Until
    2026-12-07 a queued one was failed after 15 minutes too, its task still waiting behind a
    busy billing queue.)"""
    building = Q(state=PdfArchiveState.BUILDING, updated_at__lt=now - STALLED_AFTER)
    queued = Q(state=PdfArchiveState.QUEUED, updated_at__lt=now - QUEUED_LOST_AFTER)
    return archives.filter(building | queued)


def _fail_stalled(archives: QuerySet[PdfArchive], now: datetime) -> int:
    """Fail the stalled ones of ``archives`` with ``STALLED`` (``QUEUED_LOST`` for one never
    taken), each locked and read again (one that moved meanwhile is left building); returns
    how many."""
    failed = 0
    with transaction.atomic():
        for archive in stalled(archives, now).select_for_update():
            _fail(archive, QUEUED_LOST if archive.state == PdfArchiveState.QUEUED else STALLED)
            failed += 1
    return failed


def fail_stalled_pdf_archives() -> int:
    """The beat job's: fail every stalled archive, so the Exports page says "ask again" and
    stops reloading itself without waiting for someone to ask for its month again. A worker
    still finishing one later leaves it failed (``build_pdf_archive``)."""
    return _fail_stalled(PdfArchive.objects.all(), timezone.now())


def retention() -> timedelta:
    """How long a built archive's file is kept (``BILLING_PDF_ARCHIVE_RETENTION_DAYS``)."""
    return timedelta(days=settings.BILLING_PDF_ARCHIVE_RETENTION_DAYS)


def expired(archives: QuerySet[PdfArchive], now: datetime) -> QuerySet[PdfArchive]:
    """Those of ``archives`` kept past ``retention``: ready, built (their last update) longer
    ago. The one retention rule: the beat job deletes these, the page dates the others."""
    return archives.filter(state=PdfArchiveState.READY, updated_at__lt=now - retention())


def delete_expired_pdf_archives() -> int:
    """The beat job's: delete the file of each expired archive, then mark it ``expired`` (the
    Exports page no longer offers it; its download answers 410 ``pdf_archive_expired``).
    One whose file the store cannot delete now (S3 down) stays ready, logged, for a later run:
    marked first, its file would be left in the store for good. Returns how many."""
    now = timezone.now()
    days = settings.BILLING_PDF_ARCHIVE_RETENTION_DAYS
    why = f"deleted {days} {'day' if days == 1 else 'days'} after it was built; build it again."
    deleted = 0
    for archive in expired(PdfArchive.objects.all(), now):
        try:
            with storage_failures("the store refused to delete its file ({error})"):
                default_storage.delete(archive.file_name)
        except StorageUnavailable as refusal:
            logger.warning("PDF archive %s not deleted yet, left ready: %s", archive.pk, refusal)
            continue
        deleted += expired(PdfArchive.objects.filter(pk=archive.pk), now).update(
            state=PdfArchiveState.EXPIRED, failure=why, updated_at=now
        )
    return deleted


def month_archives(start: datetime, *, latest: int = 5) -> list[PdfArchive]:
    """The month's most recent archives, newest first, for the Exports page; a ready one with
    ``kept_until``, when the beat job deletes its file."""
    newest_first = PdfArchive.objects.filter(period_start=start).order_by("-requested_at", "-id")
    archives = list(newest_first[:latest])
    for archive in archives:
        archive.kept_until = archive.updated_at + retention()
    return archives


def open_pdf_archive(archive: PdfArchive) -> File | None:
    """The ready archive's ZIP, open for reading, or None when its file is gone. An expired
    one is 410 ``pdf_archive_expired``. The store failing (S3 down, timing out or answering
    errors; a disk's error) is 503 ``storage_unavailable`` (``storage_failures``), as an upload
    the store refuses is."""
    if archive.state == PdfArchiveState.EXPIRED:
        raise PdfArchiveExpired(
            f"The PDF archive of {month_label(archive.period_start)} was {archive.failure}"
        )
    with storage_failures("The PDF archive could not be read ({error}); try again later."):
        try:
            return default_storage.open(archive.file_name, "rb")
        except FileNotFoundError:
            return None


def build_pdf_archive(archive_id: int, render: exports.Renderer | None = None) -> PdfArchive:
    """Render the month's PDFs into ``billing/pdf-archives/invoices-<month>-<id>.zip`` in the
    default storage, recording documents done of total as it goes; an error fails the archive
    with its reason (and is raised again for the worker's log). An archive no longer queued
    (built already, or failed as stalled) is left as it is: a message delivered twice."""
    now = timezone.now()
    # Queued, or being built by a worker that stopped (the task is delivered again once its
    # worker is lost: acks_late).
    claimable = PdfArchive.objects.filter(state=PdfArchiveState.QUEUED) | stalled(
        PdfArchive.objects.all(), now
    )
    claimed = claimable.filter(pk=archive_id).update(
        state=PdfArchiveState.BUILDING, done=0, updated_at=now
    )
    archive = PdfArchive.objects.get(pk=archive_id)
    if not claimed:
        return archive
    start = archive.period_start

    def progressed(done: int) -> None:
        archive.done = done
        _save(archive, "done")

    name = f"billing/pdf-archives/invoices-{month_label(start)}-{archive.pk}.zip"
    try:
        archive.total = exports.pdf_documents(start).count()
        _save(archive, "total")
        with tempfile.TemporaryFile() as spool:
            chunks = exports.pdf_zip(start, render or exports.default_pdf_renderer(), progressed)
            for chunk in chunks:
                spool.write(chunk)
            spool.seek(0)
            archive.file_name = default_storage.save(name, File(spool, name=name))
    except Exception as error:
        _fail(archive, f"{type(error).__name__}: {error}")
        raise
    # Ready unless failed meanwhile as stalled (asked again after 15 minutes without
    # progress): that answer stands, and this file is not offered.
    ready = PdfArchive.objects.filter(pk=archive.pk, state=PdfArchiveState.BUILDING).update(
        state=PdfArchiveState.READY, file_name=archive.file_name, updated_at=timezone.now()
    )
    if not ready:
        default_storage.delete(archive.file_name)
    archive.refresh_from_db()
    return archive


def _save(archive: PdfArchive, *fields: str) -> None:
    archive.updated_at = timezone.now()
    archive.save(update_fields=[*fields, "updated_at"])


def _fail(archive: PdfArchive, why: str) -> None:
    logger.error("PDF archive %s of %s failed: %s", archive.pk, archive.period_start, why)
    archive.state, archive.failure = PdfArchiveState.FAILED, why
    _save(archive, "state", "failure")
