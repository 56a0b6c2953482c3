"""An import that stops part way (a bad archive after good ones, a read error, a killed process)
keeps the advisories it committed, and says so: an import record and an audit event with what
was committed and why it stopped, and the re-scan of certified versions when it changed
anything. The command still exits non-zero."""

import json

import pytest
from django.core.management import CommandError

import certification.vulndb.admin  # noqa: F401 - registers the models until admin.py imports it
from certification.models import Advisory, AdvisoryImport
from certification.vulndb import database
from edgeplug.audit.models import AuditEvent
from tests.security import advisories

from .conftest import (
    PYPI,
    fails_after_the_first_record,
    import_osv,
    import_runs,
    write_osv_dir,
    write_osv_zip,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("small_batches")]


@pytest.fixture
def export_with_a_bad_archive(tmp_path):
    """Two good PyPI advisories in one zip, then a truncated Maven zip (read in that order)."""
    folder = tmp_path / "osv"
    folder.mkdir()
    write_osv_zip(folder / "a-PyPI.zip", PYPI)
    (folder / "b-Maven.zip").write_bytes(b"PK\x03\x04 truncated")
    return folder


def test_an_archive_error_after_committed_batches_is_recorded_audited_and_rescanned(
    export_with_a_bad_archive, queued, committed
):
    with committed(), pytest.raises(CommandError) as refused:
        import_osv(export_with_a_bad_archive)

    message = str(refused.value)
    assert message.startswith("osv_archive_invalid: b-Maven.zip")
    assert "2 created, 0 updated, 0 unchanged, 0 invalid were committed before it" in message
    assert "Queued the re-scan of every certified version." in message
    assert Advisory.objects.count() == 2

    record = AdvisoryImport.objects.get()
    assert (record.status, record.created, record.updated) == ("failed", 2, 0)
    assert record.error_code == "osv_archive_invalid"
    assert "b-Maven.zip" in record.error_detail
    assert record.finished_at is not None

    event = AuditEvent.objects.get(action="advisories_imported")
    assert event.details["status"] == "failed"
    assert (event.details["created"], event.details["updated"]) == (2, 0)
    assert event.details["error"]["code"] == "osv_archive_invalid"
    assert event.details["rescan_queued"] is True
    assert queued == [database.RESCAN_TASK]


def test_the_run_after_the_archive_is_fixed_completes_with_what_was_still_missing(
    export_with_a_bad_archive, queued, committed
):
    with committed(), pytest.raises(CommandError):
        import_osv(export_with_a_bad_archive)
    write_osv_zip(export_with_a_bad_archive / "b-Maven.zip", [advisories.LOG4SHELL])

    with committed():
        out = import_osv(export_with_a_bad_archive)

    assert "1 created, 0 updated, 2 unchanged, 0 invalid" in out
    assert import_runs("status", "created") == [("failed", 2), ("completed", 1)]
    assert queued == [database.RESCAN_TASK, database.RESCAN_TASK]
    assert database.database_status().imported_at == AdvisoryImport.objects.latest("pk").finished_at


def test_a_failed_import_counts_only_the_batches_it_committed(tmp_path, monkeypatch):
    """Its record, audit event and message agree on what the database holds: a duplicate read
    in the batch that never committed is not counted as unchanged."""
    monkeypatch.setattr(database, "BATCH_SIZE", 2)
    folder = tmp_path / "osv"
    folder.mkdir()
    (folder / "a.json").write_text(json.dumps(PYPI))  # one batch of two, committed
    jinja2 = advisories.JINJA2_XMLATTR
    (folder / "b.json").write_text(json.dumps([jinja2, jinja2]))  # the same id twice
    (folder / "c-Maven.zip").write_bytes(b"PK\x03\x04 truncated")  # before b's batch is written

    with pytest.raises(CommandError) as refused:
        import_osv(folder, "--rescan=never")

    assert "2 created, 0 updated, 0 unchanged, 0 invalid were committed" in str(refused.value)
    assert Advisory.objects.count() == 2
    record = AdvisoryImport.objects.get()
    assert (record.created, record.updated, record.unchanged, record.invalid) == (2, 0, 0, 0)
    details = AuditEvent.objects.get(action="advisories_imported").details
    assert (details["created"], details["updated"], details["unchanged"]) == (2, 0, 0)


def test_an_import_that_fails_before_committing_anything_changes_and_records_nothing(
    tmp_path, queued, committed
):
    with committed(), pytest.raises(CommandError, match="osv_path_not_found"):
        import_osv(tmp_path / "missing")

    assert not AdvisoryImport.objects.exists()
    assert not AuditEvent.objects.filter(action="advisories_imported").exists()
    assert queued == []


def test_a_read_error_midway_is_recorded_with_what_was_committed_and_raised(
    tmp_path, monkeypatch, queued, committed
):
    folder = write_osv_dir(tmp_path / "osv", PYPI)
    monkeypatch.setattr(
        database, "load_osv_path", fails_after_the_first_record(OSError(5, "Input/output error"))
    )

    with committed(), pytest.raises(OSError, match="Input/output error"):
        database.import_osv(folder)

    record = AdvisoryImport.objects.get()
    assert (record.status, record.created, record.error_code) == ("failed", 1, "import_failed")
    assert record.error_detail == "OSError: [Errno 5] Input/output error"
    assert AuditEvent.objects.get(action="advisories_imported").details["status"] == "failed"
    assert queued == [database.RESCAN_TASK]


def test_a_killed_import_leaves_its_record_running_with_what_it_committed(queued, killed_import):
    record = AdvisoryImport.objects.get()
    assert (record.status, record.created, record.finished_at) == ("running", 1, None)
    assert Advisory.objects.count() == 1
    assert queued == []
    assert database.database_status().imported_at is None


def test_reviewers_find_the_failed_import_and_its_error_in_the_admin(
    admin_session, export_with_a_bad_archive, queued, committed
):
    with committed(), pytest.raises(CommandError):
        import_osv(export_with_a_bad_archive)
    client, _ = admin_session("reviewers")

    page = client.get("/admin/certification/advisoryimport/", {"status__exact": "failed"})

    assert page.status_code == 200
    assert "osv_archive_invalid" in page.content.decode()
