"""`manage.py import_osv PATH` loads OSV exports idempotently and refuses bad paths loudly."""

import copy
import json
import subprocess
import sys
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from certification.models import Advisory, AdvisoryImport, AdvisoryPackage
from certification.vulndb.database import RESCAN_TASK
from edgeplug.audit.models import AuditEvent
from tests.security import advisories

from .conftest import write_osv_dir, write_osv_zip

pytestmark = pytest.mark.django_db

PYPI = [advisories.URLLIB3_COOKIE, advisories.REQUESTS_PROXY_AUTH, advisories.JINJA2_XMLATTR]


def import_osv(path, *args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_osv", str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_directory_import_stores_every_advisory_with_its_package_keys(tmp_path):
    out, _ = import_osv(write_osv_dir(tmp_path / "osv", advisories.ALL), "--rescan=never")

    total = len(advisories.ALL)
    assert f"{total} created, 0 updated, 0 unchanged, 0 invalid" in out
    assert Advisory.objects.count() == total
    log4shell = Advisory.objects.get(osv_id="GHSA-jfh8-c2jp-5v3q")
    assert log4shell.aliases == ["CVE-2021-44228"]
    assert log4shell.severity == "critical"
    assert float(log4shell.score) == 10.0
    assert log4shell.raw == advisories.LOG4SHELL
    assert log4shell.imported_at is not None
    # Names are stored normalised, as the scan looks them up ("Jinja2" -> "jinja2").
    assert set(
        AdvisoryPackage.objects.filter(advisory__osv_id="GHSA-cpwx-vrp4-4pq7").values_list(
            "ecosystem", "name"
        )
    ) == {("PyPI", "jinja2")}
    assert AdvisoryImport.objects.get().created == total


def test_second_import_of_the_same_export_changes_nothing(tmp_path, queued):
    folder = write_osv_dir(tmp_path / "osv", PYPI)
    import_osv(folder, "--rescan=never")
    before = dict(Advisory.objects.values_list("osv_id", "updated_at"))

    out, _ = import_osv(folder)

    assert "0 created, 0 updated, 3 unchanged" in out
    assert dict(Advisory.objects.values_list("osv_id", "updated_at")) == before
    assert queued == []  # nothing changed, so no re-scan is queued
    assert "Queued" not in out


def test_zip_as_osv_publishes_imports_and_matches_the_directory(tmp_path):
    archive = write_osv_zip(tmp_path / "all.zip", PYPI)

    first, _ = import_osv(archive, "--rescan=never")
    second, _ = import_osv(write_osv_dir(tmp_path / "osv", PYPI), "--rescan=never")

    assert "3 created, 0 updated, 0 unchanged" in first
    assert "0 created, 0 updated, 3 unchanged" in second
    assert sorted(Advisory.objects.values_list("osv_id", flat=True)) == sorted(
        r["id"] for r in PYPI
    )


def test_newer_modified_time_updates_and_an_older_copy_never_rolls_back(tmp_path):
    import_osv(write_osv_dir(tmp_path / "v1", [advisories.URLLIB3_COOKIE]), "--rescan=never")
    first = Advisory.objects.get()
    newer = {
        **advisories.URLLIB3_COOKIE,
        "modified": "2024-02-01T00:00:00Z",
        "summary": "Cookie header leaks on cross-origin redirects",
    }

    out, _ = import_osv(write_osv_dir(tmp_path / "v2", [newer]), "--rescan=never")
    again, _ = import_osv(
        write_osv_dir(tmp_path / "v1b", [advisories.URLLIB3_COOKIE]), "--rescan=never"
    )

    assert "0 created, 1 updated, 0 unchanged" in out
    assert "0 created, 0 updated, 1 unchanged" in again
    advisory = Advisory.objects.get()
    assert advisory.summary == "Cookie header leaks on cross-origin redirects"
    assert advisory.raw == newer
    assert advisory.imported_at == first.imported_at
    assert advisory.updated_at > first.updated_at


def test_import_that_changed_something_queues_the_rescan(tmp_path, queued):
    out, _ = import_osv(write_osv_dir(tmp_path / "osv", PYPI))

    assert queued == [RESCAN_TASK]
    assert "Queued the re-scan of every certified version." in out
    assert AuditEvent.objects.get(action="advisories_imported").details["rescan_queued"] is True


def test_invalid_records_are_skipped_and_named(tmp_path):
    folder = write_osv_dir(tmp_path / "osv", PYPI)
    (folder / "broken.json").write_text(json.dumps({"id": "BROKEN-1"}))  # no `modified`
    (folder / "garbage.json").write_text("{not json")

    out, err = import_osv(folder, "--rescan=never")

    assert "3 created, 0 updated, 0 unchanged, 2 invalid" in out
    assert "broken.json" in err and "record.modified is required" in err
    assert "garbage.json" in err
    assert AuditEvent.objects.filter(action="advisories_imported").exists()


def _with_nul_in_summary(record: dict) -> None:
    record["summary"] += "\u0000"


def _with_nul_in_a_package_name(record: dict) -> None:
    record["affected"][0]["package"]["name"] += "\u0000"


def _with_nul_in_a_reference(record: dict) -> None:  # kept only in the stored raw record
    record["references"] = [{"type": "WEB", "url": "https://example.com/\u0000"}]


def _with_nul_in_a_key(record: dict) -> None:
    record["database_specific"] = {"note\u0000": "x"}


def _with_a_lone_surrogate_in_details(record: dict) -> None:
    record["details"] = "half an emoji: \ud83d"


@pytest.mark.parametrize(
    "spoil",
    [
        _with_nul_in_summary,
        _with_nul_in_a_package_name,
        _with_nul_in_a_reference,
        _with_nul_in_a_key,
        _with_a_lone_surrogate_in_details,
    ],
)
def test_a_record_with_text_no_database_holds_is_skipped_as_invalid(tmp_path, spoil):
    # U+0000 or a lone surrogate: valid JSON, but no PostgreSQL text or jsonb value holds it.
    hostile = copy.deepcopy(advisories.REQUESTS_PROXY_AUTH)
    hostile["id"] = "GHSA-0000-0000-0000"  # osv.dev orders entries by id: read first
    spoil(hostile)
    archive = write_osv_zip(tmp_path / "all.zip", [hostile, advisories.URLLIB3_COOKIE])

    out, err = import_osv(archive, "--rescan=never")

    assert "1 created, 0 updated, 0 unchanged, 1 invalid" in out
    assert "GHSA-0000-0000-0000.json" in err and "no database stores" in err
    assert list(Advisory.objects.values_list("osv_id", flat=True)) == [
        advisories.URLLIB3_COOKIE["id"]
    ]


@pytest.mark.parametrize(
    ("field", "time"),
    [
        ("modified", "9999-12-31T23:30:00-01:00"),  # 10000-01-01 00:30 UTC
        ("published", "0001-01-01T00:30:00+01:00"),  # 0000-12-31 23:30 UTC, 1 BC
    ],
)
def test_a_record_timed_past_the_calendar_in_utc_is_skipped_and_the_export_imports_again(
    tmp_path, admin_session, field, time
):
    # Valid RFC 3339, but outside years 1-9999 once in UTC: PostgreSQL would store it and
    # psycopg could not read it back (the next import, the reviewers' list: DataError).
    late = {**advisories.REQUESTS_PROXY_AUTH, "id": "GHSA-0000-0000-0000", field: time}
    folder = write_osv_dir(tmp_path / "osv", [late, advisories.URLLIB3_COOKIE])

    first, err = import_osv(folder, "--rescan=never")
    again, _ = import_osv(folder, "--rescan=never")

    assert "1 created, 0 updated, 0 unchanged, 1 invalid" in first
    assert "GHSA-0000-0000-0000.json" in err and f"{field} is outside years 1-9999" in err
    assert "0 created, 0 updated, 1 unchanged, 1 invalid" in again
    client, _ = admin_session("reviewers")
    assert client.get("/admin/certification/advisory/").status_code == 200
    assert list(Advisory.objects.values_list("osv_id", flat=True)) == [
        advisories.URLLIB3_COOKIE["id"]
    ]


@pytest.mark.parametrize(
    ("make_path", "code"),
    [
        (lambda tmp: tmp / "missing", "osv_path_not_found"),
        (lambda tmp: _write(tmp / "all.zip", b"PK\x03\x04 truncated"), "osv_archive_invalid"),
        (lambda tmp: _mkdir(tmp / "empty"), "osv_no_records"),
    ],
)
def test_bad_path_or_archive_is_a_command_error(tmp_path, make_path, code):
    with pytest.raises(CommandError, match=code):
        import_osv(make_path(tmp_path))
    assert Advisory.objects.count() == 0


def test_bad_path_exits_non_zero_with_a_clear_message(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "import_osv", str(tmp_path / "nowhere")],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 1
    assert "osv_path_not_found" in result.stderr
    assert "nowhere: no such file or directory" in result.stderr


def _write(path, content: bytes):
    path.write_bytes(content)
    return path


def _mkdir(path):
    path.mkdir()
    return path
