"""Finance asks for a month's invoice PDFs as one ZIP on the Exports page and a billing
worker builds it, with its progress (documents done of total), whatever the month's size.
Streamed in the web request (``pdfs.zip``), a month of more than ~300 documents outlasted
the web server's 60 s worker timeout and arrived cut off, without its central directory."""

import io
import zipfile
from datetime import timedelta

import lxml.html
import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import IntegrityError
from django.test import override_settings
from django.utils import timezone

from billing import pdf_archives
from billing.models import Invoice, PdfArchive
from edgeplug.audit.models import AuditEvent
from edgeplug.celery import app as celery_app
from tests.invoicing.conftest import FEB, JAN
from tests.network import refusing_port
from tests.s3_conftest_helpers import bucket_keys, s3_storage

pytestmark = pytest.mark.django_db

EXPORTS = "/admin/billing/finance/exports/"
ASK = f"{EXPORTS}pdf-archives/"


def _states(client) -> list[str]:
    page = lxml.html.fromstring(client.get(EXPORTS, {"period": "2026-02"}).content)
    rows = page.xpath('//table[@id="pdf-archive-list"]/tbody/tr/td[2]')
    return [" ".join(row.text_content().split()) for row in rows]


def _refreshes(client) -> bool:
    page = client.get(EXPORTS, {"period": "2026-02"}).content.decode()
    return '<meta http-equiv="refresh"' in page


def test_finance_asks_for_the_archive_and_downloads_each_pdf(
    books, admin_session, eager_celery, django_capture_on_commit_callbacks
):
    client, user = admin_session("finance")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(ASK, {"period": "2026-02"})
    assert response.status_code == 302
    assert response["Location"] == f"{EXPORTS}?period=2026-02"
    archive = PdfArchive.objects.get()
    assert (archive.state, archive.done, archive.total) == ("ready", 4, 4)
    assert _states(client)[0].startswith("Ready (4 documents)")
    assert not _refreshes(client)

    download = client.get(f"{ASK}{archive.pk}.zip")
    assert download.status_code == 200
    assert download["Content-Disposition"] == 'attachment; filename="invoices-2026-02.zip"'
    zipped = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    assert zipped.testzip() is None
    issued = Invoice.objects.filter(period_start=FEB).exclude(status="draft")
    assert sorted(zipped.namelist()) == sorted(f"{invoice.number}.pdf" for invoice in issued)
    assert all(zipped.read(name).startswith(b"%PDF-") for name in zipped.namelist())
    event = AuditEvent.objects.get(action="finance_export")
    assert (event.actor, event.details["export"], event.details["period"]) == (
        user,
        "pdf_archive",
        "2026-02",
    )


def test_asking_twice_while_it_is_built_gives_the_same_archive(
    books, admin_session, django_capture_on_commit_callbacks
):
    client, _ = admin_session("finance")
    with django_capture_on_commit_callbacks() as queued:
        client.post(ASK, {"period": "2026-02"})
        client.post(ASK, {"period": "2026-02"})
    assert PdfArchive.objects.count() == 1 and len(queued) == 1
    assert _states(client) == ["Queued"]
    assert _refreshes(client)


def test_the_page_shows_the_progress_while_the_worker_builds(books, admin_session):
    client, _ = admin_session("finance")
    archive = pdf_archives.request_pdf_archive(FEB)
    seen = []

    def render(invoice):
        seen.append(_states(client)[0])
        return b"%PDF-1.7 " + invoice.number.encode()

    pdf_archives.build_pdf_archive(archive.pk, render)
    assert seen == ["0 of 4 documents", "1 of 4 documents", "2 of 4 documents", "3 of 4 documents"]
    assert _states(client)[0].startswith("Ready")


class _UnreachableStorage:
    def save(self, name, content):
        raise OSError("storage unreachable")


def test_a_failed_archive_says_why_and_another_can_be_asked_for(books, admin_session, monkeypatch):
    client, _ = admin_session("finance")
    archive = pdf_archives.request_pdf_archive(FEB)
    monkeypatch.setattr(pdf_archives, "default_storage", _UnreachableStorage())
    with pytest.raises(OSError):
        pdf_archives.build_pdf_archive(archive.pk, lambda invoice: b"%PDF-1.7")
    archive.refresh_from_db()
    assert (archive.state, archive.failure) == ("failed", "OSError: storage unreachable")
    assert _states(client) == ["Failed: OSError: storage unreachable"]
    assert pdf_archives.request_pdf_archive(FEB).pk != archive.pk


def test_an_archive_is_not_offered_before_it_is_ready(books, admin_session):
    client, _ = admin_session("finance")
    archive = pdf_archives.request_pdf_archive(FEB)
    assert client.get(f"{ASK}{archive.pk}.zip").status_code == 404
    assert client.get(f"{ASK}{archive.pk + 1}.zip").status_code == 404


@pytest.mark.parametrize("group", ["reviewers", "platform-admins"])
def test_other_staff_groups_can_neither_ask_nor_download(
    books, admin_session, group, django_capture_on_commit_callbacks
):
    archive = pdf_archives.request_pdf_archive(FEB)
    pdf_archives.build_pdf_archive(archive.pk, lambda invoice: b"%PDF-1.7")
    client, _ = admin_session(group)
    assert client.post(ASK, {"period": "2026-02"}).status_code == 403
    assert client.get(f"{ASK}{archive.pk}.zip").status_code == 403
    assert PdfArchive.objects.count() == 1


def test_a_tenants_member_is_sent_to_the_admin_sign_in(books, member_client):
    archive = pdf_archives.request_pdf_archive(FEB)
    pdf_archives.build_pdf_archive(archive.pk, lambda invoice: b"%PDF-1.7")
    client, _ = member_client("admin")
    response = client.get(f"{ASK}{archive.pk}.zip")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert client.post(ASK, {"period": "2026-02"}).status_code == 302
    assert PdfArchive.objects.count() == 1


def test_a_month_too_large_to_stream_is_sent_to_its_archive(books, admin_session, monkeypatch):
    monkeypatch.setattr(pdf_archives, "STREAMED_AT_MOST", 3)
    client, _ = admin_session("finance")
    response = client.get(f"{EXPORTS}pdfs.zip", {"period": "2026-02"}, follow=True)
    assert response.redirect_chain == [(f"{EXPORTS}?period=2026-02", 302)]
    assert "has 4 documents, too many to download at once" in response.content.decode()
    assert not AuditEvent.objects.filter(action="finance_export").exists()


@pytest.mark.s3
def test_the_archive_is_stored_in_s3_and_downloads_from_there(books, admin_session, moto):
    bucket = moto.create_bucket()
    with override_settings(
        STORAGES={**settings.STORAGES, "default": s3_storage(bucket, moto.endpoint_url)}
    ):
        archive = pdf_archives.build_pdf_archive(
            pdf_archives.request_pdf_archive(FEB).pk, lambda invoice: b"%PDF-1.7"
        )
        assert bucket_keys(moto.client(), bucket) == [archive.file_name]
        client, _ = admin_session("finance")
        download = client.get(f"{ASK}{archive.pk}.zip")
        zipped = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
        assert len(zipped.namelist()) == archive.total == 4


def _refusal(response) -> tuple[int, str, str]:
    """The status, and the code (the message's tags) and sentence of the Exports page's error."""
    page = lxml.html.fromstring(response.content)
    [error] = page.xpath('//ul[@class="messagelist"]/li[contains(@class, "error")]')
    return response.status_code, error.get("class"), error.text_content()


# A refused connection answers at once: with retries=0 the download cannot retry its way past
# this bound.
@pytest.mark.s3
@pytest.mark.timeout(30, func_only=True)
def test_an_s3_outage_answers_the_download_503_storage_unavailable(books, admin_session, moto):
    """The download caught only a missing file (404): S3 down (connection refused, a timeout,
    botocore's errors) was a 500. Now the Exports page says it, as an upload is refused."""
    bucket = moto.create_bucket()
    client, _ = admin_session("finance")
    with override_settings(
        STORAGES={**settings.STORAGES, "default": s3_storage(bucket, moto.endpoint_url)}
    ):
        archive = pdf_archives.build_pdf_archive(pdf_archives.request_pdf_archive(FEB).pk, _render)
    with refusing_port() as port:
        down = s3_storage(bucket, f"http://127.0.0.1:{port}", connect_timeout=1, retries=0)
        with override_settings(STORAGES={**settings.STORAGES, "default": down}):
            response = client.get(f"{ASK}{archive.pk}.zip")
    status, code, said = _refusal(response)
    assert (status, code) == (503, "storage_unavailable error")
    assert "could not be read (EndpointConnectionError)" in said, said
    assert "Ready (4 documents)" in response.content.decode()  # the month's Exports page
    assert not AuditEvent.objects.filter(action="finance_export").exists()
    with override_settings(
        STORAGES={**settings.STORAGES, "default": s3_storage(bucket, moto.endpoint_url)}
    ):
        again = client.get(f"{ASK}{archive.pk}.zip")
        assert again.status_code == 200
        assert zipfile.ZipFile(io.BytesIO(b"".join(again.streaming_content))).testzip() is None


def _stalled(archive: PdfArchive) -> None:
    """As if its worker had stopped 16 minutes ago, past ``STALLED_AFTER``."""
    long_ago = archive.updated_at - pdf_archives.STALLED_AFTER - timedelta(minutes=1)
    PdfArchive.objects.filter(pk=archive.pk).update(state="building", updated_at=long_ago)


def _render(invoice) -> bytes:
    return b"%PDF-1.7 " + invoice.number.encode()


def test_the_task_delivered_again_after_its_worker_stopped_builds_the_archive(books):
    """A worker lost mid-build (acks_late: the task comes back) left it building for good:
    the second delivery found it no longer queued and did nothing."""
    archive = pdf_archives.request_pdf_archive(FEB)
    _stalled(archive)
    built = pdf_archives.build_pdf_archive(archive.pk, _render)
    assert (built.state, built.done, built.total) == ("ready", 4, 4)


def test_a_build_still_going_is_left_alone_by_a_second_delivery(books):
    archive = pdf_archives.request_pdf_archive(FEB)
    PdfArchive.objects.filter(pk=archive.pk).update(state="building")
    assert pdf_archives.build_pdf_archive(archive.pk, _render).state == "building"


def test_a_worker_finishing_after_its_archive_was_given_up_leaves_it_failed(books, monkeypatch):
    """Finance asked again after 15 minutes without progress: the archive was failed as
    stalled and another queued. Its slow worker's late finish turned it back to ready."""
    archive = pdf_archives.request_pdf_archive(FEB)

    def render_slowly(invoice):
        if not PdfArchive.objects.filter(state="failed").exists():
            _stalled(archive)
            assert pdf_archives.request_pdf_archive(FEB).pk != archive.pk  # given up
        return _render(invoice)

    saved = []
    real_save = pdf_archives.default_storage.save
    monkeypatch.setattr(
        pdf_archives.default_storage, "save", lambda *a: saved.append(real_save(*a)) or saved[-1]
    )
    late = pdf_archives.build_pdf_archive(archive.pk, render_slowly)
    assert (late.state, late.failure) == ("failed", pdf_archives.STALLED)
    assert not pdf_archives.default_storage.exists(saved[0])  # its file is not kept


def test_asking_when_another_request_queued_and_built_it_meanwhile_is_no_500(books, monkeypatch):
    """The unique constraint refused a second archive in progress, and the one that had won
    was built already (a month of few documents takes milliseconds): the fallback's get()
    found none in progress."""
    won = pdf_archives.request_pdf_archive(FEB)  # the other request's, built since
    pdf_archives.build_pdf_archive(won.pk, _render)

    def beaten(**fields):
        raise IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr(PdfArchive.objects, "create", beaten)
    assert pdf_archives.request_pdf_archive(FEB) == PdfArchive.objects.get(state="ready")


def _run_beat_job(name: str):
    """The job the beat schedule names, run in this process as a worker runs it."""
    celery_app.loader.import_default_modules()
    return celery_app.tasks[settings.CELERY_BEAT_SCHEDULE[name]["task"]].apply().get()


class _WorkerLost(BaseException):
    """The worker process gone mid-build (killed, out of memory): nothing of the build's own
    error handling runs."""


def test_beat_fails_an_archive_whose_worker_stopped_without_anyone_asking_again(
    books, admin_session, django_capture_on_commit_callbacks, time_machine
):
    """A stalled archive was noticed only when finance asked for its month again: until then
    the page said "2 of 4 documents" and reloaded itself every 3 s for good."""
    time_machine.move_to(timezone.now(), tick=False)
    client, _ = admin_session("finance")
    with django_capture_on_commit_callbacks():  # January's task is lost (a broker outage)
        client.post(ASK, {"period": "2026-01"})
        client.post(ASK, {"period": "2026-02"})
    archive = PdfArchive.objects.get(period_start=FEB)

    rendered = []

    def dies_at_the_third(invoice):
        if len(rendered) == 2:
            raise _WorkerLost
        rendered.append(invoice)
        return _render(invoice)

    with pytest.raises(_WorkerLost):
        pdf_archives.build_pdf_archive(archive.pk, dies_at_the_third)
    assert _states(client) == ["2 of 4 documents"]

    time_machine.shift(pdf_archives.STALLED_AFTER - timedelta(seconds=1))
    _run_beat_job("fail-stalled-pdf-archives")
    assert _states(client) == ["2 of 4 documents"] and _refreshes(client)  # not yet stalled

    time_machine.shift(timedelta(seconds=2))
    assert _run_beat_job("fail-stalled-pdf-archives") == {"failed": 1}
    assert _states(client) == [f"Failed: {pdf_archives.STALLED}"]
    # January's, never taken by a worker, may still be waiting in a busy queue.
    assert PdfArchive.objects.get(period_start=JAN).state == "queued"
    assert not _refreshes(client)
    assert _run_beat_job("fail-stalled-pdf-archives") == {"failed": 0}
    # Its task delivered again (acks_late) leaves it as finance was told: ask again.
    assert pdf_archives.build_pdf_archive(archive.pk, _render).state == "failed"
    with django_capture_on_commit_callbacks(execute=False):
        client.post(ASK, {"period": "2026-02"})
    assert _states(client) == ["Queued", f"Failed: {pdf_archives.STALLED}"]


def test_the_stall_job_runs_every_five_minutes_beside_busy_billing_workers():
    """On the default queue, as the other sweepers: a month close keeping the billing workers
    busy does not hold it up."""
    celery_app.loader.import_default_modules()
    entry = settings.CELERY_BEAT_SCHEDULE["fail-stalled-pdf-archives"]
    assert entry["schedule"] == timedelta(minutes=5)
    assert celery_app.amqp.router.route({}, entry["task"])["queue"].name == "default"


def test_an_archive_past_its_retention_is_deleted_and_no_longer_offered(
    books, admin_session, eager_celery, django_capture_on_commit_callbacks, time_machine, settings
):
    """Archive files were never deleted: every month's ZIP, asked for as often as finance
    liked, stayed in the store for good."""
    settings.BILLING_PDF_ARCHIVE_RETENTION_DAYS = 3
    time_machine.move_to(timezone.now(), tick=False)
    client, _ = admin_session("finance")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(ASK, {"period": "2026-02"})
    archive = PdfArchive.objects.get()
    assert default_storage.exists(archive.file_name)
    kept_until = archive.updated_at + timedelta(days=3)
    assert _states(client)[0].endswith(f"(kept until {kept_until:%Y-%m-%d %H:%M} UTC)")

    time_machine.shift(timedelta(days=3) - timedelta(minutes=1))
    assert _run_beat_job("delete-expired-pdf-archives") == {"deleted": 0}
    assert client.get(f"{ASK}{archive.pk}.zip").status_code == 200

    time_machine.shift(timedelta(minutes=2))
    assert _run_beat_job("delete-expired-pdf-archives") == {"deleted": 1}
    assert not default_storage.exists(archive.file_name)
    assert _states(client) == ["Expired: deleted 3 days after it was built; build it again."]
    page = client.get(EXPORTS, {"period": "2026-02"}).content.decode()
    assert f"{archive.pk}.zip" not in page
    status, code, said = _refusal(client.get(f"{ASK}{archive.pk}.zip"))
    assert (status, code) == (410, "pdf_archive_expired error")
    assert "deleted 3 days after it was built" in said
    assert AuditEvent.objects.filter(action="finance_export").count() == 1  # the first only
    assert _run_beat_job("delete-expired-pdf-archives") == {"deleted": 0}


@pytest.mark.s3
@pytest.mark.timeout(30, func_only=True)
def test_an_archive_the_store_cannot_delete_is_kept_and_deleted_by_a_later_run(
    books, admin_session, moto, time_machine, settings
):
    time_machine.move_to(timezone.now(), tick=False)
    bucket = moto.create_bucket()
    up = {**settings.STORAGES, "default": s3_storage(bucket, moto.endpoint_url)}
    with override_settings(STORAGES=up):
        archive = pdf_archives.build_pdf_archive(pdf_archives.request_pdf_archive(FEB).pk, _render)
    time_machine.shift(timedelta(days=settings.BILLING_PDF_ARCHIVE_RETENTION_DAYS, minutes=1))
    with refusing_port() as port:
        down = s3_storage(bucket, f"http://127.0.0.1:{port}", connect_timeout=1, retries=0)
        with override_settings(STORAGES={**settings.STORAGES, "default": down}):
            assert _run_beat_job("delete-expired-pdf-archives") == {"deleted": 0}
    archive.refresh_from_db()
    assert archive.state == "ready"
    assert bucket_keys(moto.client(), bucket) == [archive.file_name]
    with override_settings(STORAGES=up):
        assert _run_beat_job("delete-expired-pdf-archives") == {"deleted": 1}
    assert bucket_keys(moto.client(), bucket) == []
    assert PdfArchive.objects.get().state == "expired"


def test_the_retention_job_runs_hourly_on_the_billing_queue():
    celery_app.loader.import_default_modules()
    entry = settings.CELERY_BEAT_SCHEDULE["delete-expired-pdf-archives"]
    assert entry["schedule"] == timedelta(hours=1)
    assert celery_app.amqp.router.route({}, entry["task"])["queue"].name == "billing"


def test_an_archive_waiting_behind_a_busy_billing_queue_is_built_when_its_task_arrives(
    books, admin_session, eager_celery, django_capture_on_commit_callbacks, time_machine
):
    """A queued archive was failed as stalled 15 minutes after finance asked, its task still
    waiting behind a month close on the billing queue: the page said "Failed: No worker moved
    it", and the task, once it arrived, found it failed and built nothing."""
    time_machine.move_to(timezone.now(), tick=False)
    client, _ = admin_session("finance")
    with django_capture_on_commit_callbacks() as queued:  # the task waits in the queue
        client.post(ASK, {"period": "2026-02"})
    archive = PdfArchive.objects.get()

    time_machine.shift(timedelta(minutes=20))
    assert _run_beat_job("fail-stalled-pdf-archives") == {"failed": 0}
    assert _states(client) == ["Queued"] and _refreshes(client)

    (publish,) = queued
    publish()  # the billing worker gets to the task at last
    archive.refresh_from_db()
    assert (archive.state, archive.done, archive.total) == ("ready", 4, 4)
    assert _states(client)[0].startswith("Ready (4 documents)")


def test_a_queued_archive_whose_task_never_arrives_fails_after_the_queued_limit(
    books, admin_session, django_capture_on_commit_callbacks, time_machine
):
    time_machine.move_to(timezone.now(), tick=False)
    client, _ = admin_session("finance")
    with django_capture_on_commit_callbacks():  # its task is lost (a broker outage)
        client.post(ASK, {"period": "2026-02"})

    time_machine.shift(pdf_archives.QUEUED_LOST_AFTER - timedelta(seconds=1))
    assert _run_beat_job("fail-stalled-pdf-archives") == {"failed": 0}
    assert _states(client) == ["Queued"]

    time_machine.shift(timedelta(seconds=2))
    assert _run_beat_job("fail-stalled-pdf-archives") == {"failed": 1}
    assert _states(client) == [f"Failed: {pdf_archives.QUEUED_LOST}"] and not _refreshes(client)
