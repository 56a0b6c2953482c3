"""``pack_directory``: a vendor's folder becomes a reproducible package the server accepts."""

from __future__ import annotations

import json
import os
import zipfile
from io import BytesIO

import pytest

from marketplace.packageformat import Limits, PackageError, inspect_package, pack_directory
from marketplace.packageformat.pack import FIXED_DATE_TIME, build_archive

from .builders import default_files, make_manifest


@pytest.fixture
def agent_dir(tmp_path):
    for name, content in default_files(make_manifest()).items():
        (tmp_path / name).write_bytes(content)
    return tmp_path


def test_packed_directory_is_accepted_by_the_server_validator(agent_dir):
    package = inspect_package(pack_directory(agent_dir))
    assert package.name == "pump-anomaly"
    assert set(package.record.entries) == {"manifest.json", "model.tflite", "sbom.cdx.json"}


def test_packing_twice_gives_identical_bytes_whatever_the_file_times(agent_dir):
    first = pack_directory(agent_dir)
    os.utime(agent_dir / "model.tflite", (1_700_000_000, 1_700_000_000))
    assert pack_directory(agent_dir) == first


def test_entries_are_sorted_with_fixed_times_and_modes(agent_dir):
    with zipfile.ZipFile(BytesIO(pack_directory(agent_dir))) as archive:
        infos = archive.infolist()
    assert [info.filename for info in infos] == sorted(info.filename for info in infos)
    assert {info.date_time for info in infos} == {FIXED_DATE_TIME}
    assert {info.external_attr >> 16 for info in infos} == {0o100644}


def test_a_stale_record_is_replaced(agent_dir):
    (agent_dir / "RECORD").write_bytes(b"stale,sha256=" + b"0" * 64 + b",1\n")
    assert "stale" not in inspect_package(pack_directory(agent_dir)).record.entries


def test_files_in_subdirectories_are_packed_with_forward_slashes(agent_dir):
    (agent_dir / "docs").mkdir()
    (agent_dir / "docs" / "readme.md").write_bytes(b"# Pump\n")
    package = inspect_package(pack_directory(agent_dir))
    assert package.read("docs/readme.md") == b"# Pump\n"


def test_invalid_manifest_is_refused_before_packing(agent_dir):
    (agent_dir / "manifest.json").write_text(json.dumps(make_manifest(version="1.0")))
    with pytest.raises(PackageError) as refused:
        pack_directory(agent_dir)
    assert refused.value.code == "invalid_version"


def test_missing_model_is_refused(agent_dir):
    (agent_dir / "model.tflite").unlink()
    with pytest.raises(PackageError) as refused:
        pack_directory(agent_dir)
    assert refused.value.code == "referenced_file_missing"


def test_missing_manifest_is_refused(agent_dir):
    (agent_dir / "manifest.json").unlink()
    with pytest.raises(PackageError) as refused:
        pack_directory(agent_dir)
    assert refused.value.code == "missing_manifest"


def test_symlinked_files_and_directories_are_refused_not_followed(agent_dir, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    (outside / "secret.txt").write_text("secret")
    (agent_dir / "linked").symlink_to(outside, target_is_directory=True)
    with pytest.raises(PackageError) as refused:
        pack_directory(agent_dir)
    assert (refused.value.code, refused.value.entry) == ("symlink_entry", "linked")
    (agent_dir / "linked").unlink()
    (agent_dir / "notes.txt").symlink_to(outside / "secret.txt")
    with pytest.raises(PackageError) as refused:
        pack_directory(agent_dir)
    assert (refused.value.code, refused.value.entry) == ("symlink_entry", "notes.txt")


def test_fifo_is_refused(agent_dir):
    os.mkfifo(agent_dir / "pipe")
    with pytest.raises(PackageError) as refused:
        pack_directory(agent_dir)
    assert refused.value.code == "special_entry"


def test_too_many_files_are_refused_before_reading_them(agent_dir):
    for n in range(30):
        (agent_dir / f"note-{n}.txt").write_bytes(b"x")
    with pytest.raises(PackageError) as refused:
        pack_directory(agent_dir)
    assert refused.value.code == "too_many_entries"


def test_oversized_files_are_refused_before_reading_them(agent_dir):
    with pytest.raises(PackageError) as refused:
        pack_directory(agent_dir, Limits(max_total_uncompressed_bytes=100))
    assert refused.value.code == "uncompressed_too_large"


def test_path_that_is_not_a_directory_is_refused(agent_dir):
    with pytest.raises(NotADirectoryError):
        pack_directory(agent_dir / "manifest.json")


def test_build_archive_refuses_a_caller_supplied_record():
    with pytest.raises(ValueError, match="RECORD is generated"):
        build_archive({"RECORD": b""})
