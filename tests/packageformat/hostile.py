"""The hostile package corpus: every archive the registry must refuse, and the code it earns.

Each case is ``(name, build, code)``: ``build(limits)`` returns package bytes that break one
rule under those limits, and ``code`` is the ``PackageError.code`` the refusal must carry.
A case is a decorated builder, or a row of a table where cases differ in one value only (an
entry's name, its file type, a manifest field).
Tests run the corpus against ``inspect_package``; the upload API tests run the same corpus
through ``POST /api/v1/agents/upload`` and check that nothing was stored.
"""

from __future__ import annotations

import io
import json
import stat
import struct
import zipfile
from collections.abc import Callable
from typing import NamedTuple

from marketplace.packageformat.limits import Limits
from marketplace.packageformat.record import Record, RecordEntry, write_record

from .builders import (
    DESCRIPTORS,
    PLACEHOLDER_MODEL,
    default_files,
    end_record,
    file_info,
    make_manifest,
    make_package,
    package_with_entries,
    patch_entry,
    record_for,
    rename_entry,
    replace_end_record,
    streamed_package,
    zip_entries,
)

Builder = Callable[[Limits], bytes]


class HostileCase(NamedTuple):
    name: str
    build: Builder
    code: str


HOSTILE_CASES: list[HostileCase] = []


def case(code: str) -> Callable[[Builder], Builder]:
    """Register the decorated builder under its function name."""

    def register(build: Builder) -> Builder:
        HOSTILE_CASES.append(HostileCase(build.__name__, build, code))
        return build

    return register


def _with_manifest_bytes(content: bytes) -> bytes:
    return make_package(files={"manifest.json": content})


# The container


@case("not_a_zip")
def plain_text(limits: Limits) -> bytes:
    return b"this is a tarball, honest\n" * 4


@case("not_a_zip")
def empty_upload(limits: Limits) -> bytes:
    return b""


@case("corrupt_archive")
def truncated_zip(limits: Limits) -> bytes:
    package = make_package()
    return package[: len(package) // 2]


@case("corrupt_archive")
def corrupt_central_directory(limits: Limits) -> bytes:
    package = bytearray(make_package())
    package[end_record(bytes(package))[6]] ^= 0xFF
    return bytes(package)


@case("corrupt_archive")
def flipped_byte_in_model_data(limits: Limits) -> bytes:
    files = default_files(make_manifest())
    # Stored, so the flipped byte survives to the CRC check instead of breaking inflate.
    model = file_info("model.tflite", compress_type=zipfile.ZIP_STORED)
    others = [(name, content) for name, content in files.items() if name != "model.tflite"]
    package = bytearray(
        zip_entries([*others, (model, files["model.tflite"]), ("RECORD", record_for(files))])
    )
    package[bytes(package).find(PLACEHOLDER_MODEL) + 8] ^= 0xFF
    return bytes(package)


@case("corrupt_archive")
def declared_size_smaller_than_data(limits: Limits) -> bytes:
    return patch_entry(make_package(), "model.tflite", file_size=len(PLACEHOLDER_MODEL) - 1)


@case("corrupt_archive")
def declared_size_larger_than_data(limits: Limits) -> bytes:
    # The CRC still matches the real bytes, so only counting what arrives catches the lie.
    return patch_entry(make_package(), "model.tflite", file_size=len(PLACEHOLDER_MODEL) + 10)


@case("corrupt_archive")
def multi_disk_archive(limits: Limits) -> bytes:
    return replace_end_record(make_package(), disk=1, directory_disk=1)


@case("corrupt_archive")
def zip64_end_record_marker(limits: Limits) -> bytes:
    return replace_end_record(make_package(), disk_entries=0xFFFF, entries=0xFFFF)


@case("package_too_large")
def package_over_size_cap(limits: Limits) -> bytes:
    return bytes(limits.max_package_bytes + 1)


@case("too_many_entries")
def too_many_entries(limits: Limits) -> bytes:
    return make_package(files={f"notes/{n}.txt": b"x" for n in range(limits.max_entries)})


@case("too_many_entries")
def entry_count_understated(limits: Limits) -> bytes:
    package = make_package(files={f"notes/{n}.txt": b"x" for n in range(limits.max_entries)})
    return replace_end_record(package, disk_entries=1, entries=1)


@case("too_many_entries")
def oversized_central_directory(limits: Limits) -> bytes:
    bulky = []
    for n in range(4):
        info = file_info(f"notes/{n}.txt")
        info.comment = b"c" * 0xFFFF
        bulky.append((info, b"x"))
    return package_with_entries(bulky)


@case("unaccounted_data")
def data_prepended_to_archive(limits: Limits) -> bytes:
    return b"#!/bin/sh\necho polyglot\n" + make_package()


@case("unaccounted_data")
def data_appended_to_archive(limits: Limits) -> bytes:
    return make_package() + b"trailing payload"


@case("unaccounted_data")
def hidden_bytes_between_entries(limits: Limits) -> bytes:
    files = default_files(make_manifest())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(file_info(name), content)
            archive.fp.write(b"hidden payload")
            archive.start_dir = archive.fp.tell()
        archive.writestr(file_info("RECORD"), record_for(files))
    return buffer.getvalue()


def _deferred_in_local_header_only() -> bytes:
    # Bit 3 set in a local header (its CRC and sizes then unread) but not in the central one.
    package = bytearray(make_package())
    struct.pack_into("<H", package, 6, struct.unpack_from("<H", package, 6)[0] | 0x08)
    return bytes(package)


def _descriptor_saying(form: str, crc: int = 0, compressed: int = 0, size: int = 0) -> Builder:
    def descriptor(*fields: int) -> bytes:
        return DESCRIPTORS[form](fields[0] ^ crc, fields[1] + compressed, fields[2] + size)

    return lambda limits: streamed_package(descriptor)


# Each entry's data descriptor disagrees with the central directory (the local header defers
# to it); readers that stream the archive trust the descriptor: (case, descriptor builder).
for _case, _build in [
    ("descriptor_crc_wrong", _descriptor_saying("signed-32", crc=1)),
    ("descriptor_compressed_size_wrong", _descriptor_saying("bare-32", compressed=1)),
    ("descriptor_size_wrong", _descriptor_saying("signed-64", size=7)),
    ("descriptor_64_bit_sizes_wrong", _descriptor_saying("bare-64", compressed=1, size=1)),
    ("descriptor_signature_wrong", lambda limits: streamed_package(lambda *f: bytes(16))),
    ("descriptor_missing", lambda limits: streamed_package(lambda *f: b"")),
    ("descriptor_only_in_local_header", lambda limits: _deferred_in_local_header_only()),
]:
    HOSTILE_CASES.append(HostileCase(_case, _build, "corrupt_archive"))


@case("overlapping_entries")
def entry_inside_another_entry(limits: Limits) -> bytes:
    # The local header of "inner.bin" sits inside the stored data of "outer.bin".
    inner_name = "inner.bin"
    inner = zip_entries([(file_info(inner_name, compress_type=zipfile.ZIP_STORED), b"z" * 64)])
    with zipfile.ZipFile(io.BytesIO(inner)) as source:
        inner_info = source.getinfo(inner_name)
    inner_local = inner[: 30 + len(inner_name) + inner_info.compress_size]
    files = default_files(make_manifest())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(file_info(name), content)
        outer = file_info("outer.bin", compress_type=zipfile.ZIP_STORED)
        archive.writestr(outer, inner_local)
        archive.writestr(file_info("RECORD"), record_for(files))
        inner_info.header_offset = outer.header_offset + 30 + len(outer.filename)
        archive.filelist.append(inner_info)
    return buffer.getvalue()


@case("uncompressed_too_large")
def declared_size_over_total_cap(limits: Limits) -> bytes:
    return patch_entry(
        make_package(), "model.tflite", file_size=limits.max_total_uncompressed_bytes + 1
    )


@case("compression_bomb")
def highly_compressible_entry(limits: Limits) -> bytes:
    size = min(4 * 1024 * 1024, limits.max_total_uncompressed_bytes // 2)
    return make_package(model_bytes=bytes(max(size, limits.compression_ratio_min_bytes + 1)))


# Entry names and types


def _one_entry(name: str, content: bytes) -> Builder:
    return lambda limits: package_with_entries([(name, content)])


# A package with one more entry, whose name alone breaks a rule: (case, code, name, content).
for _case, _code, _name, _content in [
    ("absolute_path", "absolute_path", "/etc/cron.d/evil", b"* * * * * root sh\n"),
    ("windows_drive_path", "absolute_path", "C:/Windows/evil.dll", b"MZ"),
    ("dotdot_at_start", "path_traversal", "../evil.txt", b"x"),
    ("dotdot_in_middle", "path_traversal", "models/../../evil.txt", b"x"),
    ("dotdot_with_backslashes", "path_traversal", "..\\..\\evil.txt", b"x"),
    ("backslash_separator", "invalid_entry_name", "docs\\readme.txt", b"x"),
    ("empty_path_segment", "invalid_entry_name", "docs//readme.txt", b"x"),
    ("c1_control_in_name", "invalid_entry_name", "docs/read\u0085me.md", b"x"),  # NEL, a Cc
]:
    HOSTILE_CASES.append(HostileCase(_case, _one_entry(_name, _content), _code))


@case("invalid_entry_name")
def overlong_name(limits: Limits) -> bytes:
    return package_with_entries([("n" * (limits.max_entry_name_bytes + 1), b"x")])


def _renamed_entry(name: str, raw_name: bytes) -> Builder:
    def build(limits: Limits) -> bytes:
        package = package_with_entries([(name, b"x")])
        return rename_entry(package, name.encode(), raw_name)

    return build


# An entry written under a stand-in name (a non-ASCII one sets the UTF-8 flag), then renamed in
# the archive's bytes to a name zipfile would not write: (case, code, stand-in, raw name).
for _case, _code, _name, _raw_name in [
    ("nul_byte_in_name", "invalid_entry_name", "notes.txt?hidden", b"notes.txt\x00hidden"),
    ("latin1_name_without_utf8_flag", "non_utf8_name", "caf?.txt", b"caf\xe9.txt"),
    ("invalid_bytes_with_utf8_flag", "non_utf8_name", "caf\u00e9.txt", b"caf\xff\xfe.txt"),
]:
    HOSTILE_CASES.append(HostileCase(_case, _renamed_entry(_name, _raw_name), _code))


def _special_entry(name: str, mode: int, content: bytes) -> Builder:
    return lambda limits: package_with_entries([(file_info(name, mode=mode), content)])


# A package with one more entry, whose file type or mode is refused: (case, code, name, mode,
# content).
for _case, _code, _name, _mode, _content in [
    ("directory_entry", "directory_entry", "docs/", stat.S_IFDIR | 0o755, b""),
    ("symlink_to_etc_passwd", "symlink_entry", "passwd", stat.S_IFLNK | 0o777, b"/etc/passwd"),
    ("fifo_entry", "special_entry", "pipe", stat.S_IFIFO | 0o644, b""),
    ("character_device_entry", "special_entry", "null", stat.S_IFCHR | 0o666, b""),
    ("setuid_file", "special_entry", "tool", stat.S_IFREG | 0o4755, b"x"),
]:
    HOSTILE_CASES.append(HostileCase(_case, _special_entry(_name, _mode, _content), _code))


@case("duplicate_entry")
def duplicate_manifest(limits: Limits) -> bytes:
    second = json.dumps(make_manifest(name="other-agent")).encode()
    return package_with_entries([("manifest.json", second)])


@case("duplicate_entry")
def names_differing_only_by_case(limits: Limits) -> bytes:
    return package_with_entries([("Model.tflite", PLACEHOLDER_MODEL)])


@case("duplicate_entry")
def a_second_model_named_with_a_trailing_dot(limits: Limits) -> bytes:
    # Windows (and zipfile's extraction there) drops trailing dots and spaces from each part
    # of a name, so this one overwrites the certified model.tflite.
    return package_with_entries([("model.tflite.", PLACEHOLDER_MODEL)])


@case("duplicate_entry")
def a_folder_named_with_a_trailing_space(limits: Limits) -> bytes:
    return package_with_entries([("docs /a.txt", b"a"), ("docs/a.txt", b"b")])


@case("encrypted_entry")
def encrypted_flag(limits: Limits) -> bytes:
    return patch_entry(make_package(), "model.tflite", flag_bits=0x0001)


@case("unsupported_compression")
def bzip2_entry(limits: Limits) -> bytes:
    return package_with_entries([(file_info("notes.txt", compress_type=zipfile.ZIP_BZIP2), b"x")])


# RECORD


@case("missing_record")
def no_record(limits: Limits) -> bytes:
    return zip_entries(default_files(make_manifest()).items())


@case("record_too_large")
def record_over_cap(limits: Limits) -> bytes:
    return make_package(record=b"#" * (limits.max_record_bytes + 1))


@case("malformed_record")
def record_not_csv_triples(limits: Limits) -> bytes:
    return make_package(record=b"manifest.json and friends\n")


@case("malformed_record")
def record_with_md5_digest(limits: Limits) -> bytes:
    files = default_files(make_manifest())
    lines = record_for(files).decode().replace("sha256=", "md5=")
    return make_package(record=lines.encode())


@case("missing_file")
def record_lists_absent_file(limits: Limits) -> bytes:
    files = default_files(make_manifest())
    extra = RecordEntry("weights.bin", "0" * 64, 0)
    entries = [*_record_entries(files), extra]
    return make_package(record=write_record(entries))


@case("unrecorded_file")
def extra_file_not_in_record(limits: Limits) -> bytes:
    return package_with_entries([("payload.sh", b"#!/bin/sh\n")])


@case("unrecorded_file")
def nested_file_not_in_record(limits: Limits) -> bytes:
    return package_with_entries([("docs/readme.md", b"# hello\n")])


# What ``edgeplug keygen`` writes (marketplace/cli/keyfile.py), left in the agent's directory.
SIGNING_KEY_FILE = json.dumps(
    {
        "format": "edgeplug-signing-key",
        "version": 1,
        "key_id": "ed25519:0123456789abcdef0123456789abcdef",
        "public_key": "A" * 43 + "=",
        "private_key": "B" * 43 + "=",
    },
    indent=2,
).encode()


@case("private_key_in_package")
def signing_key_file_packed(limits: Limits) -> bytes:
    return make_package(files={"keys/signing-key.json": SIGNING_KEY_FILE})


@case("private_key_in_package")
def signing_key_file_renamed(limits: Limits) -> bytes:
    return make_package(files={"docs/notes.txt": SIGNING_KEY_FILE.replace(b"\n", b"")})


@case("digest_mismatch")
def model_swapped_after_record(limits: Limits) -> bytes:
    files = default_files(make_manifest())
    swapped = PLACEHOLDER_MODEL[:-1] + b"\x01"
    return make_package(files={"model.tflite": swapped}, record=record_for(files))


@case("size_mismatch")
def record_size_wrong(limits: Limits) -> bytes:
    files = default_files(make_manifest())
    entries = [
        RecordEntry(e.path, e.sha256, e.size + 1 if e.path == "model.tflite" else e.size)
        for e in _record_entries(files)
    ]
    return make_package(record=write_record(entries))


def _record_entries(files: dict[str, bytes]) -> list[RecordEntry]:
    return list(Record.for_files(files).entries.values())


# manifest.json


def _manifest_with(**fields) -> Builder:
    return lambda limits: make_package(make_manifest(**fields))


CORE_A53 = {"core": "cortex-a53", "clock_mhz": 1200, "ram_kb": 1024, "flash_kb": 4096}
MISSING_INPUT = {"kind": "monotonic", "input": 9, "output": 0, "direction": "increasing"}
# A manifest with one field the schema or the rules refuse: (case, code, fields).
for _case, _code, _fields in [
    # Valid JSON ("\\u0000"), but PostgreSQL text and jsonb cannot store it.
    ("nul_in_description", "nul_character", {"description": "pump\x00guard"}),
    # Valid JSON ("\\ud800" alone), but half a UTF-16 pair is no character UTF-8 can hold.
    ("lone_surrogate_in_description", "surrogate_character", {"description": "pump\ud800"}),
    ("future_schema_version", "unsupported_schema_version", {"schema_version": 2}),
    ("version_missing_patch", "invalid_version", {"version": "1.0"}),
    ("version_with_leading_zero", "invalid_version", {"version": "01.2.3"}),
    ("missing_target", "schema_violation", {"target": None}),
    ("unknown_top_level_field", "schema_violation", {"homepage": "https://example.invalid"}),
    ("name_not_a_slug", "schema_violation", {"name": "Pump_Anomaly"}),
    ("name_with_trailing_newline", "schema_violation", {"name": "pump-anomaly\n"}),
    ("unknown_invariant_kind", "schema_violation", {"invariants": [{"kind": "telepathic"}]}),
    ("unknown_target_core", "schema_violation", {"target": CORE_A53}),
    ("invariant_names_missing_input", "manifest_inconsistent", {"invariants": [MISSING_INPUT]}),
    (
        "firmware_not_elf",
        "wrong_file_extension",
        {"firmware": {"file": "firmware.bin", "board": "mps2-an386"}},
    ),
]:
    HOSTILE_CASES.append(HostileCase(_case, _manifest_with(**_fields), _code))


@case("missing_manifest")
def no_manifest(limits: Limits) -> bytes:
    return make_package(files={"manifest.json": None})


@case("manifest_too_large")
def manifest_over_cap(limits: Limits) -> bytes:
    padded = json.dumps(make_manifest()).encode() + b" " * limits.max_manifest_bytes
    files = {**default_files(make_manifest()), "manifest.json": padded}
    stored = file_info("manifest.json", compress_type=zipfile.ZIP_STORED)
    others = [(n, c) for n, c in files.items() if n != "manifest.json"]
    return zip_entries([(stored, padded), *others, ("RECORD", record_for(files))])


@case("manifest_not_utf8")
def manifest_in_latin1(limits: Limits) -> bytes:
    text = json.dumps(make_manifest(description="Caf\u00e9 pumps"), ensure_ascii=False)
    return _with_manifest_bytes(text.encode("latin-1"))


@case("invalid_json")
def manifest_not_json(limits: Limits) -> bytes:
    return _with_manifest_bytes(b'{"name": "pump-anomaly",')


@case("invalid_json")
def manifest_with_nan(limits: Limits) -> bytes:
    text = json.dumps(make_manifest()).replace('"min": -128', '"min": NaN')
    return _with_manifest_bytes(text.encode())


@case("invalid_json")
def manifest_number_overflows(limits: Limits) -> bytes:
    text = json.dumps(make_manifest()).replace('"min": -128', '"min": -1e999')
    return _with_manifest_bytes(text.encode())


@case("invalid_json")
def manifest_integer_overflows(limits: Limits) -> bytes:
    # Exact as a Python int, but past a double: no other reader (nor a device) holds it.
    text = json.dumps(make_manifest()).replace('"min": -128', '"min": -1' + "0" * 400)
    return _with_manifest_bytes(text.encode())


@case("duplicate_json_key")
def manifest_duplicate_key(limits: Limits) -> bytes:
    text = json.dumps(make_manifest())
    return _with_manifest_bytes(text.replace("{", '{"name": "shadow", ', 1).encode())


@case("manifest_not_object")
def manifest_is_array(limits: Limits) -> bytes:
    return _with_manifest_bytes(json.dumps([make_manifest()]).encode())


@case("manifest_too_deep")
def manifest_nested_past_parser(limits: Limits) -> bytes:
    return _with_manifest_bytes(b"[" * 5000 + b"]" * 5000)


@case("manifest_too_deep")
def manifest_nested_past_depth_cap(limits: Limits) -> bytes:
    nested: list[object] = []
    for _ in range(limits.max_json_depth + 1):
        nested = [nested]
    return _with_manifest_bytes(json.dumps(make_manifest(extra=nested)).encode())


@case("string_too_long")
def overlong_description(limits: Limits) -> bytes:
    description = "a" * (limits.max_string_length + 1)
    return make_package(make_manifest(description=description))


@case("manifest_inconsistent")
def inverted_input_range(limits: Limits) -> bytes:
    manifest = make_manifest()
    manifest["model"]["input"]["range"] = [100, -100]
    return make_package(manifest)


@case("referenced_file_missing")
def model_file_missing(limits: Limits) -> bytes:
    return make_package(files={"model.tflite": None})


@case("referenced_file_missing")
def sbom_file_missing(limits: Limits) -> bytes:
    return make_package(files={"sbom.cdx.json": None})


@case("wrong_file_extension")
def model_not_tflite(limits: Limits) -> bytes:
    manifest = make_manifest()
    manifest["model"]["file"] = "model.onnx"
    return make_package(manifest)
