"""An import that stops part way (a bad archive after good ones, a read error, a killed process)
keeps the advisories it committed, and says so: an import record and an audit event with what
was committed and why it stopped, and the re-scan of certified versions when it changed
anything. The command still exits non-zero."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

import certification.vulndb.admin  # noqa: F401 - registers the models until admin.py imports it
from certification.models import Advisory, AdvisoryImport
from certification.security import osv
from certification.vulndb import database
from edgeplug.audit.models import AuditEvent
from tests.security import advisories

from .conftest import write_osv_dir, write_osv_zip

pytestmark = pytest.mark.django_db

PYPI = [advisories.URLLIB3_COOKIE, advisories.REQUESTS_PROXY_AUTH]


class WorkerLost(BaseException):
    """The process ends here (SIGTERM, OOM): no handler of the import's code runs."""


@pytest.fixture(autouse=True)
def small_batches(monkeypatch):
    """One record per transaction, standing for the 500 of a real export."""
    monkeypatch.setattr(database, "BATCH_SIZE", 1)


@pytest.fixture
def queued(monkeypatch):
    """The tasks sent to the broker, by name (run the import under
    django_capture_on_commit_callbacks(execute=True): they are sent once it committed)."""
    names: list[str] = []

    class Signature:
        def __init__(self, name):
            self.name = name

        def delay(self):
            names.append(self.name)

    monkeypatch.setattr(database, "signature", Signature)
    return names


@pytest.fixture
def export_with_a_bad_archive(tmp_path):
    """Two good PyPI advisories in one zip, then a truncated Maven zip (read in that order)."""
    folder = tmp_path / "osv"
    folder.mkdir()
    write_osv_zip(folder / "a-PyPI.zip", PYPI)
    (folder / "b-Maven.zip").write_bytes(b"PK\x03\x04 truncated")
    return folder


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """with committed(): ... runs the on-commit callbacks of what it wraps, as a commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def import_osv(path, *args) -> str:
    out = StringIO()
    call_command("import_osv", str(path), *args, stdout=out, stderr=StringIO())
    return out.getvalue()


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
    assert list(AdvisoryImport.objects.order_by("pk").values_list("status", "created")) == [
        ("failed", 2),
        ("completed", 1),
    ]
    assert queued == [database.RESCAN_TASK, database.RESCAN_TASK]
    assert database.database_status().imported_at == AdvisoryImport.objects.latest("pk").finished_at


def test_an_import_that_fails_before_committing_anything_changes_and_records_nothing(
    tmp_path, queued, committed
):
    with committed(), pytest.raises(CommandError, match="osv_path_not_found"):
        import_osv(tmp_path / "missing")

    assert not AdvisoryImport.objects.exists()
    assert not AuditEvent.objects.filter(action="advisories_imported").exists()
    assert queued == []


def _fails_after_the_first_record(error: BaseException):
    real = osv.load_osv_path

    def load(path, **kwargs):
        records = real(path, **kwargs)
        yield next(records)
        raise error

    return load


def test_a_read_error_midway_is_recorded_with_what_was_committed_and_raised(
    tmp_path, monkeypatch, queued, committed
):
    folder = write_osv_dir(tmp_path / "osv", PYPI)
    monkeypatch.setattr(
        database, "load_osv_path", _fails_after_the_first_record(OSError(5, "Input/output error"))
    )

    with committed(), pytest.raises(OSError, match="Input/output error"):
        database.import_osv(folder)

    record = AdvisoryImport.objects.get()
    assert (record.status, record.created, record.error_code) == ("failed", 1, "import_failed")
    assert record.error_detail == "OSError: [Errno 5] Input/output error"
    assert AuditEvent.objects.get(action="advisories_imported").details["status"] == "failed"
    assert queued == [database.RESCAN_TASK]


def test_a_killed_import_leaves_its_record_running_with_what_it_committed(
    tmp_path, monkeypatch, queued, committed
):
    folder = write_osv_dir(tmp_path / "osv", PYPI)
    monkeypatch.setattr(database, "load_osv_path", _fails_after_the_first_record(WorkerLost()))

    with committed(), pytest.raises(WorkerLost):
        database.import_osv(folder)

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
