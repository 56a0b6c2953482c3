"""The task queue (Redis) is down when ``manage.py import_osv`` queues the re-scan: the
advisories stay committed, the command prints its counts, says without a traceback that the
re-scan was not queued (``broker_unavailable``) and how to queue it once the queue is back
(``--rescan=always``), and exits 1; the run's audit event says it was not queued, and why."""

import os
import re
import subprocess
import sys
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from certification.management.commands.import_osv import QUEUED
from certification.models import Advisory, ScanFinding
from certification.vulndb import tasks as _tasks  # noqa: F401 - registers the re-scan task
from certification.vulndb.database import RESCAN_TASK
from edgeplug.audit.models import AuditEvent
from tests.faults.components import PrivateRedis
from tests.gunicorn_server import database_url_for_test_db
from tests.processes import shared_keys
from tests.security import advisories

from .conftest import PYPI, URLLIB3_VULNERABLE, import_osv, write_osv_dir, write_osv_zip


@pytest.mark.django_db(transaction=True)
def test_an_import_with_the_queue_down_keeps_its_advisories_and_says_the_rescan_was_not_queued(
    tmp_path,
):
    folder = write_osv_dir(tmp_path / "osv", PYPI)
    (tmp_path / "var").mkdir()
    down = PrivateRedis(tmp_path).url  # never started: its port refuses, as a stopped Redis's
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_test_db(),
        "EDGEPLUG_VAR_DIR": str(tmp_path / "var"),
        "REDIS_URL": down,
        "CELERY_BROKER_URL": down,
        "CELERY_RESULT_BACKEND": down,
    }

    result = subprocess.run(
        [sys.executable, "manage.py", "import_osv", str(folder)],
        cwd=settings.BASE_DIR,
        env={**env, **shared_keys(env)},
        capture_output=True,
        text=True,
        timeout=180,
    )

    # No traceback for the operator (publish's warning keeps the broker's error in its log line).
    assert not re.search("^Traceback", result.stderr, re.MULTILINE), result.stderr[-2000:]
    assert result.returncode == 1
    assert f"Imported {folder}: 2 created, 0 updated, 0 unchanged, 0 invalid" in result.stdout
    assert "CommandError: broker_unavailable: " in result.stderr
    assert "the re-scan of every certified version was not queued" in result.stderr
    assert f"manage.py import_osv {folder} --rescan=always" in result.stderr
    assert Advisory.objects.count() == 2
    details = AuditEvent.objects.get(action="advisories_imported").details
    assert details["rescan_queued"] is False
    assert details["rescan_error"]["code"] == "broker_unavailable"


@pytest.mark.django_db
def test_rescan_always_once_the_queue_is_back_finds_what_the_lost_rescan_would_have(
    tmp_path, certified, broker_refuses, eager_celery, mailoutbox
):
    version = certified(URLLIB3_VULNERABLE)
    folder = write_osv_dir(tmp_path / "osv", [advisories.URLLIB3_COOKIE])
    broker_refuses.everything = True
    out = StringIO()

    with pytest.raises(CommandError, match=r"^broker_unavailable: ") as refused:
        call_command("import_osv", str(folder), stdout=out, stderr=StringIO())

    assert "1 created, 0 updated, 0 unchanged, 0 invalid" in out.getvalue()
    assert QUEUED not in out.getvalue() + str(refused.value)
    assert broker_refuses.refused == [(RESCAN_TASK, ())]
    assert not ScanFinding.objects.exists()
    [event] = AuditEvent.objects.filter(action="advisories_imported")
    assert event.details["rescan_queued"] is False

    broker_refuses.everything = False  # the queue is back: the command the message named
    again = import_osv(folder, "--rescan=always")

    assert "0 created, 0 updated, 1 unchanged, 0 invalid" in again
    assert QUEUED in again
    assert ScanFinding.objects.get().version == version


@pytest.mark.django_db
def test_rescan_always_with_the_queue_still_down_says_so(tmp_path, broker_refuses):
    folder = write_osv_dir(tmp_path / "osv", [advisories.URLLIB3_COOKIE])
    import_osv(folder, "--rescan=never")
    broker_refuses.everything = True

    with pytest.raises(CommandError, match=r"^broker_unavailable: .*--rescan=always"):
        import_osv(folder, "--rescan=always")


@pytest.mark.django_db
def test_a_run_failing_after_it_committed_says_both_with_the_queue_down(
    tmp_path, small_batches, broker_refuses
):
    folder = tmp_path / "osv"
    folder.mkdir()
    write_osv_zip(folder / "a-PyPI.zip", PYPI)
    (folder / "b-Maven.zip").write_bytes(b"PK\x03\x04 truncated")
    broker_refuses.everything = True

    with pytest.raises(CommandError) as refused:
        import_osv(folder)

    message = str(refused.value)
    assert message.startswith("osv_archive_invalid: b-Maven.zip")
    assert "2 created, 0 updated, 0 unchanged, 0 invalid were committed before it" in message
    assert "broker_unavailable: the re-scan of every certified version was not queued" in message
    assert QUEUED not in message
    details = AuditEvent.objects.get(action="advisories_imported").details
    assert (details["status"], details["rescan_queued"]) == ("failed", False)
    assert details["rescan_error"]["code"] == "broker_unavailable"
