"""An OSV export loads from a directory, a single file or a zip, and hostile zips are refused."""

from __future__ import annotations

import json
import zipfile

import pytest

from certification.security.errors import OsvArchiveError, OsvPathNotFound, OsvRecordInvalid
from certification.security.osv import DEFAULT_LIMITS, LoadLimits, load_osv_path
from tests.security import advisories

PYPI = [advisories.URLLIB3_COOKIE, advisories.REQUESTS_PROXY_AUTH, advisories.JINJA2_XMLATTR]


def ids(records) -> list[str]:
    return sorted(record.id for record in records)


def write_zip(path, entries: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)


def test_a_zip_as_osv_publishes_per_ecosystem_loads(tmp_path):
    archive = tmp_path / "all.zip"
    write_zip(archive, {f"{raw['id']}.json": json.dumps(raw).encode() for raw in PYPI})

    assert ids(load_osv_path(archive)) == sorted(raw["id"] for raw in PYPI)


def test_a_directory_tree_of_json_files_loads(tmp_path):
    for raw in PYPI:
        folder = tmp_path / raw["id"][:4]
        folder.mkdir(exist_ok=True)
        (folder / f"{raw['id']}.json").write_text(json.dumps(raw))
    (tmp_path / "README.md").write_text("not an advisory")

    assert ids(load_osv_path(tmp_path)) == sorted(raw["id"] for raw in PYPI)


def test_a_single_file_loads_and_may_hold_a_list_of_records(tmp_path):
    single = tmp_path / "GHSA-jfh8-c2jp-5v3q.json"
    single.write_text(json.dumps(advisories.LOG4SHELL))
    several = tmp_path / "pypi.json"
    several.write_text(json.dumps(PYPI))

    assert ids(load_osv_path(single)) == ["GHSA-jfh8-c2jp-5v3q"]
    assert len(list(load_osv_path(several))) == 3


def test_symlinks_in_a_directory_are_not_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "GHSA-jfh8-c2jp-5v3q.json").write_text(json.dumps(advisories.LOG4SHELL))
    export = tmp_path / "export"
    export.mkdir()
    (export / "GHSA-v845-jxx5-vc9f.json").write_text(json.dumps(advisories.URLLIB3_COOKIE))
    (export / "link.json").symlink_to(outside / "GHSA-jfh8-c2jp-5v3q.json")

    assert ids(load_osv_path(export)) == ["GHSA-v845-jxx5-vc9f"]


def test_a_missing_path_is_an_error(tmp_path):
    with pytest.raises(OsvPathNotFound) as caught:
        list(load_osv_path(tmp_path / "nope.zip"))
    assert caught.value.code == "osv_path_not_found"


def test_an_invalid_record_stops_the_load_unless_a_handler_collects_it(tmp_path):
    archive = tmp_path / "all.zip"
    write_zip(
        archive,
        {
            "GHSA-v845-jxx5-vc9f.json": json.dumps(advisories.URLLIB3_COOKIE).encode(),
            "broken.json": b'{"id": "X-1"}',
            "garbage.json": b"\x00\x01",
            "GHSA-h5c8-rqwp-cp95.json": json.dumps(advisories.JINJA2_XMLATTR).encode(),
        },
    )

    with pytest.raises(OsvRecordInvalid, match=r"all\.zip:broken\.json"):
        list(load_osv_path(archive))

    problems: list[OsvRecordInvalid] = []
    loaded = ids(load_osv_path(archive, on_invalid=problems.append))
    assert loaded == ["GHSA-h5c8-rqwp-cp95", "GHSA-v845-jxx5-vc9f"]
    assert [p.source for p in problems] == ["all.zip:broken.json", "all.zip:garbage.json"]


def archive_refusal(path, limits: LoadLimits = DEFAULT_LIMITS) -> OsvArchiveError:
    with pytest.raises(OsvArchiveError) as caught:
        list(load_osv_path(path, limits=limits))
    return caught.value


def test_a_file_that_is_not_a_zip_is_refused(tmp_path):
    fake = tmp_path / "all.zip"
    fake.write_bytes(b"PK\x03\x04 but not really")

    assert archive_refusal(fake).code == "osv_archive_invalid"


def test_too_many_entries_are_refused(tmp_path):
    archive = tmp_path / "all.zip"
    write_zip(archive, {f"R-{i}.json": b"{}" for i in range(5)})

    assert (
        archive_refusal(archive, LoadLimits(max_entries=4)).code == "osv_archive_too_many_entries"
    )


def test_an_oversized_entry_is_refused(tmp_path):
    archive = tmp_path / "all.zip"
    write_zip(archive, {"big.json": b" " * 5000})

    assert archive_refusal(archive, LoadLimits(max_entry_bytes=4096)).code == "osv_entry_too_large"


def test_a_zip_bomb_is_refused_by_its_compression_ratio(tmp_path):
    archive = tmp_path / "all.zip"
    write_zip(archive, {"bomb.json": b"\x00" * (4 * 1024 * 1024)})

    assert archive_refusal(archive).code == "osv_compression_ratio"


def test_the_total_uncompressed_size_is_capped(tmp_path):
    archive = tmp_path / "all.zip"
    entries = {f"{raw['id']}.json": json.dumps(raw).encode() for raw in PYPI}
    write_zip(archive, entries)
    cap = sum(len(content) for content in entries.values()) - 1

    assert archive_refusal(archive, LoadLimits(max_total_bytes=cap)).code == "osv_archive_too_large"


def test_encrypted_entries_are_refused(tmp_path):
    archive = tmp_path / "all.zip"
    write_zip(archive, {"GHSA-v845-jxx5-vc9f.json": b"{}"})
    # zipfile cannot write encrypted entries, so set the "encrypted" flag bit in the local and
    # central directory headers the way an encrypting tool would.
    data = bytearray(archive.read_bytes())
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        data[data.index(signature) + flag_offset] |= 0x1
    archive.write_bytes(bytes(data))

    assert archive_refusal(archive).code == "osv_entry_encrypted"
