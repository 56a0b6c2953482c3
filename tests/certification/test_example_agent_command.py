"""manage.py example_agent writes a directory that packs into a valid, certifiable package."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from marketplace.packageformat.archive import inspect_package
from marketplace.packageformat.pack import pack_directory
from tests.vendors import VENDOR_SLUG


def test_the_example_packs_and_passes_the_standard_level(tmp_path, certify):
    directory = tmp_path / "agent"
    call_command("example_agent", str(directory), "--vendor", VENDOR_SLUG, stdout=StringIO())
    assert sorted(p.name for p in directory.iterdir()) == [
        "manifest.json",
        "model.tflite",
        "sbom.cdx.json",
    ]
    package = pack_directory(directory)
    assert inspect_package(package).manifest["vendor"] == VENDOR_SLUG

    run = certify(package, level="standard")
    assert run.status == "passed", {r.test_suite: r.test_logs[:200] for r in run.results.all()}


def test_a_non_empty_directory_needs_force(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(CommandError, match="not empty"):
        call_command("example_agent", str(tmp_path), stdout=StringIO())
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_a_path_that_is_a_file_is_refused_and_left_as_it_was(tmp_path):
    """It was NotADirectoryError's traceback."""
    mine = tmp_path / "notes.txt"
    mine.write_text("mine")
    with pytest.raises(CommandError, match="is not a directory"):
        call_command("example_agent", str(mine), "--force", stdout=StringIO())
    assert mine.read_text() == "mine"


def test_a_bad_vendor_slug_is_refused_before_writing(tmp_path):
    with pytest.raises(CommandError):
        call_command(
            "example_agent", str(tmp_path / "x"), "--vendor", "Not A Slug!", stdout=StringIO()
        )
    assert not (tmp_path / "x").exists()


def test_a_path_under_a_file_is_refused_not_a_traceback(tmp_path):
    """mkdir under a file was NotADirectoryError's traceback."""
    (tmp_path / "afile").write_text("mine")
    with pytest.raises(CommandError, match="could not write"):
        call_command("example_agent", str(tmp_path / "afile" / "agent"), stdout=StringIO())
    assert (tmp_path / "afile").read_text() == "mine"


def test_force_over_a_directory_where_a_file_goes_is_refused_before_writing(tmp_path):
    """--force over DIR/manifest.json that is a directory was IsADirectoryError's traceback,
    after the files before it had been written."""
    directory = tmp_path / "agent"
    (directory / "manifest.json").mkdir(parents=True)
    with pytest.raises(CommandError, match=r"manifest\.json is not a file"):
        call_command("example_agent", str(directory), "--force", stdout=StringIO())
    assert [p.name for p in directory.iterdir()] == ["manifest.json"]
