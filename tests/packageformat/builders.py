"""Builders for agent packages in tests: valid by default, with hooks to break one thing.

``make_package()`` returns the bytes of a package that ``inspect_package`` accepts. Tests and
the hostile corpus override one part (the manifest, a file, RECORD) to provoke one refusal.
The model is placeholder bytes unless a caller passes real ``.tflite`` bytes as ``model_bytes``.
"""

from __future__ import annotations

import copy
import io
import json
import stat
import struct
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from marketplace.packageformat.pack import FIXED_DATE_TIME, build_archive
from marketplace.packageformat.record import RECORD_NAME, Record, write_record

# A flatbuffer root offset followed by the TFLite file identifier; not a loadable model.
PLACEHOLDER_MODEL = b"\x1c\x00\x00\x00TFL3" + bytes(248)
PLACEHOLDER_FIRMWARE = b"\x7fELF\x01\x01\x01" + bytes(121)
SBOM = json.dumps(
    {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "components": [],
    }
).encode()

_MANIFEST: dict[str, Any] = {
    "schema_version": 1,
    "name": "pump-anomaly",
    "version": "1.0.0",
    "vendor": "acme-robotics",
    "agent_type": "anomaly-detection",
    "description": "Flags abnormal vibration on centrifugal pumps.",
    "license": "Apache-2.0",
    "target": {"core": "cortex-m4", "clock_mhz": 80, "ram_kb": 256, "flash_kb": 1024},
    "model": {
        "file": "model.tflite",
        "format": "tflite",
        "input": {"shape": [1, 4], "dtype": "int8", "range": [-128, 127]},
        "output": {"shape": [1, 3], "dtype": "int8", "range": [-128, 127]},
    },
    "limits": {"inference_time_us": 400, "model_size_kb": 64, "arena_kb": 16},
    "safety_level": "high",
    "invariants": [
        {"kind": "finite"},
        {"kind": "deterministic"},
        {"kind": "output_range", "min": -128, "max": 127, "outputs": [0, 1, 2]},
        {"kind": "monotonic", "input": 0, "output": 2, "direction": "increasing"},
        {"kind": "robust", "epsilon": 1, "delta": 8},
        {
            "kind": "implies",
            "name": "overheat-shutdown",
            "when": [{"input": 3, "op": "gt", "value": 100}],
            "then": {"argmax": 2},
        },
    ],
    "sbom": {"file": "sbom.cdx.json"},
}

FIRMWARE_SECTION = {"file": "firmware.elf", "board": "mps2-an386"}


def make_manifest(**overrides: Any) -> dict[str, Any]:
    """A valid manifest with top-level ``overrides`` applied; a value of None drops the key."""
    manifest = copy.deepcopy(_MANIFEST)
    for key, value in overrides.items():
        if value is None:
            manifest.pop(key, None)
        else:
            manifest[key] = value
    return manifest


def default_files(
    manifest: Mapping[str, Any],
    *,
    model_bytes: bytes = PLACEHOLDER_MODEL,
    firmware_bytes: bytes = PLACEHOLDER_FIRMWARE,
) -> dict[str, bytes]:
    """The files a valid package with this manifest holds, RECORD excluded."""
    files = {"manifest.json": json.dumps(manifest, indent=2).encode()}
    model = manifest.get("model")
    if isinstance(model, dict) and isinstance(model.get("file"), str):
        files[model["file"]] = model_bytes
    sbom = manifest.get("sbom")
    if isinstance(sbom, dict) and isinstance(sbom.get("file"), str):
        files[sbom["file"]] = SBOM
    firmware = manifest.get("firmware")
    if isinstance(firmware, dict) and isinstance(firmware.get("file"), str):
        files[firmware["file"]] = firmware_bytes
    return files


def make_package(
    manifest: Mapping[str, Any] | None = None,
    files: Mapping[str, bytes | None] | None = None,
    *,
    model_bytes: bytes = PLACEHOLDER_MODEL,
    firmware_bytes: bytes = PLACEHOLDER_FIRMWARE,
    record: bytes | None = None,
) -> bytes:
    """A package built exactly like ``edgeplug pack`` builds one.

    ``files`` adds or replaces contents by archive name (None removes a file); RECORD is
    computed from the final contents unless ``record`` gives its raw bytes.
    """
    contents = default_files(
        make_manifest() if manifest is None else manifest,
        model_bytes=model_bytes,
        firmware_bytes=firmware_bytes,
    )
    for name, content in (files or {}).items():
        if content is None:
            contents.pop(name, None)
        else:
            contents[name] = content
    if record is None:
        return build_archive(contents)
    return zip_entries([*contents.items(), (RECORD_NAME, record)])


def record_for(files: Mapping[str, bytes]) -> bytes:
    """The RECORD bytes that correctly describe ``files``."""
    return write_record(Record.for_files(files).entries.values())


def file_info(
    name: str,
    *,
    mode: int = stat.S_IFREG | 0o644,
    compress_type: int = zipfile.ZIP_DEFLATED,
    flag_bits: int = 0,
) -> zipfile.ZipInfo:
    """A ZipInfo with the packer's fixed metadata, for entries tests want to distort."""
    info = zipfile.ZipInfo(name, date_time=FIXED_DATE_TIME)
    info.compress_type = compress_type
    info.create_system = 3
    info.external_attr = mode << 16
    info.flag_bits |= flag_bits
    return info


def zip_entries(entries: Iterable[tuple[str | zipfile.ZipInfo, bytes]]) -> bytes:
    """A zip holding exactly these entries in this order, duplicates and oddities included."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive, warnings.catch_warnings():
        # Duplicate names are a case the corpus needs, not a mistake to warn about.
        warnings.simplefilter("ignore", UserWarning)
        for name, content in entries:
            info = name if isinstance(name, zipfile.ZipInfo) else file_info(name)
            archive.writestr(info, content)
    return buffer.getvalue()


def package_with_entries(extra: Iterable[tuple[str | zipfile.ZipInfo, bytes]]) -> bytes:
    """A valid package's entries plus ``extra`` ones, RECORD describing only the valid files."""
    contents = default_files(make_manifest())
    return zip_entries([*contents.items(), (RECORD_NAME, record_for(contents)), *extra])


# Byte-level surgery for what zipfile refuses to write. Offsets follow APPNOTE 4.3.7 / 4.3.12.
_END = struct.Struct("<4s4H2LH")
_LOCAL_FLAGS, _LOCAL_SIZE = 6, 22
_CENTRAL_FLAGS, _CENTRAL_SIZE = 8, 24


def end_record(data: bytes) -> list[Any]:
    """The fields of the end of central directory record of an archive without a comment."""
    return list(_END.unpack_from(data, len(data) - _END.size))


def replace_end_record(data: bytes, **fields: int) -> bytes:
    """Rewrite fields of the end record: disk, directory_disk, disk_entries, entries."""
    names = ["signature", "disk", "directory_disk", "disk_entries", "entries", "size", "offset"]
    values = end_record(data)
    for name, value in fields.items():
        values[names.index(name)] = value
    return data[: len(data) - _END.size] + _END.pack(*values)


def patch_entry(
    data: bytes, name: str, *, flag_bits: int | None = None, file_size: int | None = None
) -> bytes:
    """Set an entry's flag bits or declared size in both its local and central headers."""
    patched = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        local = archive.getinfo(name).header_offset
    central = _central_record(data, name)
    if flag_bits is not None:
        struct.pack_into("<H", patched, local + _LOCAL_FLAGS, flag_bits)
        struct.pack_into("<H", patched, central + _CENTRAL_FLAGS, flag_bits)
    if file_size is not None:
        struct.pack_into("<L", patched, local + _LOCAL_SIZE, file_size)
        struct.pack_into("<L", patched, central + _CENTRAL_SIZE, file_size)
    return bytes(patched)


def rename_entry(data: bytes, old: bytes, new: bytes) -> bytes:
    """Replace an entry's name bytes everywhere they occur; both must have the same length."""
    assert len(old) == len(new)
    return data.replace(old, new)


def _central_record(data: bytes, name: str) -> int:
    offset = end_record(data)[6]
    encoded = name.encode()
    while data.startswith(b"PK\x01\x02", offset):
        name_length, extra_length, comment_length = struct.unpack_from("<3H", data, offset + 28)
        if data[offset + 46 : offset + 46 + name_length] == encoded:
            return offset
        offset += 46 + name_length + extra_length + comment_length
    raise KeyError(name)


_LOCAL = struct.Struct("<4s5H3L2H")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_DEFERRED = 0x08  # general purpose bit 3: CRC and sizes follow the data, in a descriptor
_DESCRIPTOR_SIGNATURE = b"PK\x07\x08"

# The data descriptors APPNOTE 4.3.9 allows: (crc, compressed, size) -> bytes.
Descriptor = Callable[[int, int, int], bytes]
DESCRIPTORS: dict[str, Descriptor] = {
    "signed-32": lambda *fields: struct.pack("<4s3L", _DESCRIPTOR_SIGNATURE, *fields),
    "bare-32": lambda *fields: struct.pack("<3L", *fields),
    "signed-64": lambda *fields: struct.pack("<4sL2Q", _DESCRIPTOR_SIGNATURE, *fields),
    "bare-64": lambda *fields: struct.pack("<L2Q", *fields),
}


def streamed_package(descriptor: Descriptor = DESCRIPTORS["signed-32"]) -> bytes:
    """A valid package's files as a writer that cannot seek back stores them: each entry's
    CRC and sizes left out of its local header and written after its data by ``descriptor``
    (stored, so the sizes are the content's length)."""
    contents = default_files(make_manifest())
    contents[RECORD_NAME] = record_for(contents)
    archive, central = bytearray(), bytearray()
    for name, content in contents.items():
        raw, crc, size, offset = name.encode(), zlib.crc32(content), len(content), len(archive)
        archive += _LOCAL.pack(b"PK\x03\x04", 20, _DEFERRED, 0, 0, 0x21, 0, 0, 0, len(raw), 0)
        archive += raw + content + descriptor(crc, size, size)
        mode = (stat.S_IFREG | 0o644) << 16
        central += _CENTRAL.pack(
            b"PK\x01\x02",
            0x314,
            20,
            _DEFERRED,
            0,
            0,
            0x21,
            crc,
            size,
            size,
            len(raw),
            0,
            0,
            0,
            0,
            mode,
            offset,
        )
        central += raw
    count = len(contents)
    end = _END.pack(b"PK\x05\x06", 0, 0, count, count, len(central), len(archive), 0)
    return bytes(archive + central + end)
