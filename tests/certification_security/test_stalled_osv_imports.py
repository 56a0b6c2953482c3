"""An import whose process died (SIGKILL, out of memory, a restart) stays ``running`` only until
it has committed no batch for OSV_IMPORT_STALL_TIMEOUT_S: beat's sweep then closes it as
``failed`` with ``import_stalled``, audited and re-scanned as any failed run, and the next
import runs as usual. A live import commits a batch every few seconds and is never closed."""

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError
from django.utils import timezone

import certification.vulndb.admin  # noqa: F401 - registers the models until admin.py imports it
from certification.models import Advisory, AdvisoryImport
from certification.security import osv
from certification.vulndb import database, tasks
from edgeplug.audit.models import AuditEvent
from edgeplug.celery import app as celery_app

from .conftest import (
    PYPI,
    import_osv,
    import_runs,
    write_osv_dir,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("small_batches")]

TIMEOUT_S = 600


@pytest.fixture(autouse=True)
def stall_timeout(settings):
    settings.OSV_IMPORT_STALL_TIMEOUT_S = TIMEOUT_S


@pytest.fixture
def sweep(eager_celery):
    """sweep() -> how many imports beat's task closed, run as a worker runs it."""
    return lambda: tasks.fail_stalled_imports.delay().get()


def test_beat_closes_a_killed_import_as_failed_once_it_made_no_progress_for_the_timeout(
    killed_import, clock, sweep, queued, committed
):
    died_at = timezone.now()

    clock.shift(timedelta(seconds=TIMEOUT_S))
    assert sweep() == 0
    assert AdvisoryImport.objects.get().status == "running"

    clock.shift(timedelta(seconds=1))
    with committed():
        assert sweep() == 1

    record = AdvisoryImport.objects.get()
    assert (record.status, record.error_code, record.created) == ("failed", "import_stalled", 1)
    assert f"no progress for over {TIMEOUT_S} s" in record.error_detail
    assert record.finished_at == died_at  # its last progress, not the sweep's time
    event = AuditEvent.objects.get(action="advisories_imported")
    assert (event.details["status"], event.details["created"]) == ("failed", 1)
    assert event.details["error"]["code"] == "import_stalled"
    assert event.details["rescan_queued"] is True
    assert queued == [database.RESCAN_TASK]
    assert database.database_status().imported_at == died_at
    assert sweep() == 0  # closed once


def test_reviewers_see_the_killed_import_failed_with_its_reason_in_the_admin(
    killed_import, clock, sweep, queued, admin_session
):
    clock.shift(timedelta(seconds=TIMEOUT_S + 1))
    sweep()
    client, _ = admin_session("reviewers")

    running = client.get("/admin/certification/advisoryimport/", {"status__exact": "running"})
    failed = client.get("/admin/certification/advisoryimport/", {"status__exact": "failed"})
    record = AdvisoryImport.objects.get()
    page = client.get(f"/admin/certification/advisoryimport/{record.pk}/change/")

    assert "0 advisory imports" in running.content.decode()
    assert "import_stalled" in failed.content.decode()
    assert f"no progress for over {TIMEOUT_S} s" in page.content.decode()


def test_the_import_after_a_killed_one_adds_what_it_had_not_stored(
    killed_import, clock, sweep, queued, committed
):
    clock.shift(timedelta(seconds=TIMEOUT_S + 1))
    sweep()

    with committed():
        out = import_osv(killed_import)

    assert "1 created, 0 updated, 1 unchanged, 0 invalid" in out
    assert import_runs("status", "created") == [("failed", 1), ("completed", 1)]
    assert Advisory.objects.count() == len(PYPI)


def test_an_import_that_keeps_committing_batches_is_never_closed(
    tmp_path, monkeypatch, clock, sweep, queued
):
    """Slow, but each batch is progress: the timeout counts from the last one, not the start."""
    folder = write_osv_dir(tmp_path / "osv", PYPI)
    swept: list[int] = []

    def slow_load(path, **kwargs):
        for record in osv.load_osv_path(path, **kwargs):
            yield record
            clock.shift(timedelta(seconds=TIMEOUT_S - 1))
            swept.append(sweep())

    monkeypatch.setattr(database, "load_osv_path", slow_load)

    report = database.import_osv(folder)

    assert swept == [0, 0]
    assert (report.status, report.created) == ("completed", 2)
    assert AdvisoryImport.objects.get().status == "completed"


def test_a_stalled_import_that_was_alive_after_all_stops_before_its_next_batch(
    tmp_path, monkeypatch, clock, sweep, queued, committed
):
    """Closed by the sweep while it hung (a lock held for longer than the timeout): it stores
    nothing more, and its record, audit event and message stay those of the sweep."""
    folder = write_osv_dir(tmp_path / "osv", PYPI)

    def hanging_load(path, **kwargs):
        records = osv.load_osv_path(path, **kwargs)
        yield next(records)
        clock.shift(timedelta(seconds=TIMEOUT_S + 1))
        assert sweep() == 1
        yield from records

    monkeypatch.setattr(database, "load_osv_path", hanging_load)

    with committed(), pytest.raises(CommandError) as refused:
        import_osv(folder)

    message = str(refused.value)
    assert message.startswith("import_stalled: ")
    assert "1 created, 0 updated, 0 unchanged, 0 invalid were committed before it" in message
    assert Advisory.objects.count() == 1
    record = AdvisoryImport.objects.get()
    assert (record.status, record.error_code, record.created) == ("failed", "import_stalled", 1)
    assert AuditEvent.objects.filter(action="advisories_imported").count() == 1
    assert queued == [database.RESCAN_TASK]


def test_an_import_left_running_by_the_previous_release_is_closed_from_its_start(sweep, clock):
    """That release did not record progress: its rows count from their start."""
    started = timezone.now() - timedelta(seconds=TIMEOUT_S + 1)
    AdvisoryImport.objects.create(
        path="var/osv/PyPI-all.zip", status="running", started_at=started, created=3
    )
    assert sweep() == 1
    AdvisoryImport.objects.create(
        path="var/osv/npm-all.zip", status="running", started_at=timezone.now(), created=1
    )

    assert sweep() == 0

    assert import_runs("status", "finished_at") == [("failed", started), ("running", None)]


def test_beat_runs_the_sweep_every_five_minutes_on_the_default_queue():
    celery_app.loader.import_default_modules()
    schedule = {
        entry["task"]: entry["schedule"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()
    }
    task = tasks.fail_stalled_imports.name

    assert task in celery_app.tasks
    assert schedule[task] == timedelta(minutes=5)
    assert celery_app.amqp.router.route({}, task)["queue"].name == "default"
