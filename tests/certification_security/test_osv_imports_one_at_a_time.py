"""One OSV import runs at a time: two at once would write the same new advisories, and one of
them used to end ``failed`` with an IntegrityError. An import started while another is running
is refused with ``import_already_running`` (the command exits 1) before it stores or records
anything; one whose process died stops counting as running once it has stalled."""

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError
from django.db import connection, transaction

from certification.models import Advisory, AdvisoryImport
from certification.security import osv
from certification.vulndb import database
from tests.concurrency import (
    backend_pid,
    in_thread,
    needs_row_locks,
    wait_for_blocked_backends,
)
from tests.security import advisories

from .conftest import PYPI, import_osv, write_osv_dir

TIMEOUT_S = 600


@pytest.fixture(autouse=True)
def stall_timeout(settings):
    settings.OSV_IMPORT_STALL_TIMEOUT_S = TIMEOUT_S


def outcome(path: Path) -> str | CommandError:
    """What ``manage.py import_osv PATH --rescan=never`` printed, or the error it exited 1 on."""
    try:
        return import_osv(path, "--rescan=never")
    except CommandError as refused:
        return refused


@pytest.mark.django_db(transaction=True)
@needs_row_locks
def test_two_imports_of_the_same_export_at_once_import_it_once_and_refuse_the_second(
    tmp_path, monkeypatch
):
    """Both runs are inside their first batch's transaction before either commits: the
    advisory table lock the test holds until both wait stands for the time the first run
    takes to store its batch. The run that stored it ends (its record no longer running) only
    once the other has answered: on a loaded machine the other's insert, woken by the first
    batch's commit, could otherwise look again only after that end, and rightly import."""
    folder = write_osv_dir(tmp_path / "osv", advisories.ALL)
    answers: list = []
    errors: list = []
    pids: list[int] = []
    connected = threading.Barrier(3)
    answered = threading.Event()
    finish = database._finish

    def finish_once_the_other_has_answered(*args, **kwargs):
        answered.wait(30)  # the other, refused, answers at once; never set if it imports too
        return finish(*args, **kwargs)

    monkeypatch.setattr(database, "_finish", finish_once_the_other_has_answered)

    def run_import():
        pids.append(backend_pid())
        connected.wait(30)
        try:
            return outcome(folder)
        finally:
            answered.set()

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {Advisory._meta.db_table} IN EXCLUSIVE MODE")
        runs = [in_thread(run_import, answers, errors) for _ in range(2)]
        connected.wait(30)
        # The first run's batch waits for the table; the second run's import record for the
        # first's (one runs at a time), not for anything on the way there.
        wait_for_blocked_backends(pids, on=("relation", "transactionid"))
    for run in runs:
        run.join()

    assert errors == []
    imported = [answer for answer in answers if isinstance(answer, str)]
    refused = [str(answer) for answer in answers if isinstance(answer, CommandError)]
    assert len(imported) == 1
    assert f"{len(advisories.ALL)} created, 0 updated, 0 unchanged" in imported[0]
    assert len(refused) == 1
    assert refused[0].startswith(f"import_already_running: {folder}: import ")
    assert f"of {folder} is running (started " in refused[0]  # the first, not yet ended
    assert "one import runs at a time" in refused[0]
    assert list(AdvisoryImport.objects.values_list("status", "created", "error_code")) == [
        ("completed", len(advisories.ALL), "")
    ]
    assert Advisory.objects.count() == len(advisories.ALL)


@pytest.mark.django_db
@pytest.mark.usefixtures("small_batches")
def test_an_import_started_while_another_is_between_batches_is_refused_and_stores_nothing(
    tmp_path, monkeypatch
):
    first = write_osv_dir(tmp_path / "first", PYPI)
    second = write_osv_dir(tmp_path / "second", [advisories.LOG4SHELL, *PYPI])
    meanwhile: list = []
    load = osv.load_osv_path

    def second_import_after_the_first_batch(path, **kwargs):
        records = load(path, **kwargs)
        if Path(path) == first:
            yield next(records)
            # The first run committed its first batch and is reading on.
            meanwhile.append(outcome(second))
        yield from records

    monkeypatch.setattr(database, "load_osv_path", second_import_after_the_first_batch)

    out = import_osv(first, "--rescan=never")

    [refused] = meanwhile
    running = AdvisoryImport.objects.get()
    assert isinstance(refused, CommandError)
    assert str(refused).startswith(
        f"import_already_running: {second}: import {running.pk} of {first} is running (started "
    )
    assert str(refused).endswith("Nothing was stored")
    assert "2 created, 0 updated, 0 unchanged, 0 invalid" in out
    assert (running.status, running.created) == ("completed", 2)
    assert not Advisory.objects.filter(osv_id=advisories.LOG4SHELL["id"]).exists()

    again = import_osv(second, "--rescan=never")

    assert "1 created, 0 updated, 2 unchanged, 0 invalid" in again


@pytest.mark.django_db
@pytest.mark.usefixtures("small_batches")
def test_an_import_whose_process_died_blocks_the_next_one_only_until_it_has_stalled(
    killed_import, clock, queued
):
    folder = killed_import
    clock.shift(timedelta(seconds=TIMEOUT_S))
    refused = outcome(folder)
    clock.shift(timedelta(seconds=1))
    out = outcome(folder)

    assert isinstance(refused, CommandError)
    assert str(refused).startswith("import_already_running: ")
    assert "1 created, 0 updated, 1 unchanged, 0 invalid" in out
    assert list(
        AdvisoryImport.objects.order_by("pk").values_list("status", "error_code", "created")
    ) == [("failed", "import_stalled", 1), ("completed", "", 1)]
    assert Advisory.objects.count() == len(PYPI)
