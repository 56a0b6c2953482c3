"""Well-formed packages are accepted, measured and readable, whichever zip tool made them."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import zipfile

import pytest

from marketplace.packageformat import DEFAULT_LIMITS, Limits, PackageError, inspect_package

from .builders import (
    DESCRIPTORS,
    FIRMWARE_SECTION,
    PLACEHOLDER_FIRMWARE,
    PLACEHOLDER_MODEL,
    SBOM,
    default_files,
    make_manifest,
    make_package,
    record_for,
    streamed_package,
)


def test_default_package_is_accepted_with_its_digest_and_sizes():
    data = make_package()
    package = inspect_package(data)
    assert package.sha256 == hashlib.sha256(data).hexdigest()
    assert package.size == len(data)
    assert package.name == "pump-anomaly"
    assert package.version == "1.0.0"
    assert package.manifest == make_manifest()
    assert set(package.entries) == {"manifest.json", "model.tflite", "sbom.cdx.json", "RECORD"}
    assert package.uncompressed_size == sum(entry.size for entry in package.entries.values())


def test_manifest_digest_covers_the_exact_manifest_bytes():
    package = inspect_package(make_package())
    assert package.manifest_sha256 == hashlib.sha256(package.manifest_bytes).hexdigest()
    assert package.entries["manifest.json"].sha256 == package.manifest_sha256


def test_files_are_read_back_byte_for_byte():
    model = b"\x1c\x00\x00\x00TFL3" + bytes(range(256)) * 40
    package = inspect_package(make_package(model_bytes=model))
    assert package.read("model.tflite") == model
    assert package.read("sbom.cdx.json") == SBOM
    assert package.entries["model.tflite"].sha256 == hashlib.sha256(model).hexdigest()


def test_package_with_firmware_is_accepted():
    manifest = make_manifest(firmware=FIRMWARE_SECTION)
    package = inspect_package(make_package(manifest))
    assert package.read("firmware.elf") == PLACEHOLDER_FIRMWARE


def test_files_in_subdirectories_and_extra_documents_are_accepted():
    manifest = make_manifest()
    manifest["model"]["file"] = "models/pump.tflite"
    files = {"LICENSE": b"Apache License 2.0\n", "docs/readme.md": b"# Pump anomaly\n"}
    package = inspect_package(make_package(manifest, files))
    assert package.read("models/pump.tflite") == PLACEHOLDER_MODEL
    assert "docs/readme.md" in package.record.entries


def test_non_ascii_file_names_are_accepted():
    package = inspect_package(make_package(files={"docs/café.md": b"Kaffee"}))
    assert package.read("docs/café.md") == b"Kaffee"


def test_package_written_by_a_streaming_zip_writer_is_accepted():
    # A writer that cannot seek puts sizes in data descriptors after each entry.
    class Unseekable(io.RawIOBase):
        def __init__(self):
            self.written = bytearray()

        def writable(self):
            return True

        def write(self, data):
            self.written += data
            return len(data)

    files = default_files(make_manifest())
    sink = Unseekable()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in [*files.items(), ("RECORD", record_for(files))]:
            archive.writestr(name, content)
    package = inspect_package(bytes(sink.written))
    assert package.read("model.tflite") == PLACEHOLDER_MODEL


@pytest.mark.parametrize("form", sorted(DESCRIPTORS))
def test_every_form_of_data_descriptor_is_accepted(form):
    # With or without its signature, sizes in 4 or 8 bytes (APPNOTE 4.3.9).
    package = inspect_package(streamed_package(DESCRIPTORS[form]))
    assert package.read("model.tflite") == PLACEHOLDER_MODEL


@pytest.mark.skipif(shutil.which("zip") is None, reason="Info-ZIP's zip is not installed")
def test_package_zipped_by_info_zip_is_accepted(tmp_path):
    files = default_files(make_manifest())
    files["RECORD"] = record_for(files)
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    subprocess.run(["zip", "-q", "-X", "package.epk", *sorted(files)], cwd=tmp_path, check=True)
    package = inspect_package((tmp_path / "package.epk").read_bytes())
    assert package.name == "pump-anomaly"


def test_stored_entries_are_accepted():
    files = default_files(make_manifest())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, content in [*files.items(), ("RECORD", record_for(files))]:
            archive.writestr(name, content)
    assert inspect_package(buffer.getvalue()).read("model.tflite") == PLACEHOLDER_MODEL


def test_small_highly_compressible_files_are_not_mistaken_for_bombs():
    # 60 KiB of zeros compresses far beyond 100:1 but stays under the exemption threshold.
    notes = bytes(DEFAULT_LIMITS.compression_ratio_min_bytes - 1024)
    assert inspect_package(make_package(files={"notes.txt": notes})).read("notes.txt") == notes


def test_limits_are_configurable():
    data = make_package()
    with pytest.raises(PackageError) as refused:
        inspect_package(data, Limits(max_package_bytes=len(data) - 1))
    assert refused.value.code == "package_too_large"
    assert refused.value.status == 413
    assert str(refused.value) == (
        f"Packages are limited to {len(data) - 1} bytes; this one is {len(data)} bytes."
    )
    assert inspect_package(data, Limits(max_package_bytes=len(data))).size == len(data)


def test_entry_cap_counts_record_and_manifest():
    files = {f"notes/{n}.txt": b"x" for n in range(4)}
    data = make_package(files=files)
    assert inspect_package(data, Limits(max_entries=8))
    with pytest.raises(PackageError) as refused:
        inspect_package(data, Limits(max_entries=7))
    assert refused.value.code == "too_many_entries"
