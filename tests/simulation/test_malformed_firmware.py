"""Malformed or mismatched firmware is refused as firmware_invalid before anything runs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from certification.simulation.base import ErrorCode, ExitReason
from certification.simulation.boards import BOARDS
from certification.simulation.firmware_image import (
    MAX_NAME_BYTES,
    FirmwareInvalid,
    inspect_firmware,
)
from tests.simulation.elf_edits import stretched_symbols

M4 = BOARDS["cortex-m4"]


def test_random_bytes_are_not_firmware(tmp_path):
    elf = tmp_path / "junk.elf"
    elf.write_bytes(b"\x7fELF" + bytes(range(256)) * 4)

    with pytest.raises(FirmwareInvalid, match=r"not a readable ELF|32-bit"):
        inspect_firmware(elf, M4)


def test_empty_file_is_not_firmware(tmp_path):
    elf = tmp_path / "empty.elf"
    elf.write_bytes(b"")

    with pytest.raises(FirmwareInvalid, match="empty"):
        inspect_firmware(elf, M4)


def test_host_executable_is_not_arm_firmware():
    with pytest.raises(FirmwareInvalid, match=r"32-bit|Arm"):
        inspect_firmware(Path(sys.executable).resolve(), M4)


@pytest.mark.qemu
def test_truncated_elf_is_refused(native_build, tmp_path):
    whole = native_build.elf("cortex-m4", "good").read_bytes()
    elf = tmp_path / "truncated.elf"
    elf.write_bytes(whole[: len(whole) // 3])

    with pytest.raises(FirmwareInvalid):
        inspect_firmware(elf, M4)


@pytest.mark.qemu
def test_firmware_for_another_board_is_refused(native_build):
    with pytest.raises(FirmwareInvalid, match=r"outside mps2-an505|another board"):
        inspect_firmware(native_build.elf("cortex-m4", "good"), BOARDS["cortex-m33"])


@pytest.mark.qemu
def test_stripped_firmware_has_no_inference_symbols(native_build, tmp_path):
    elf = tmp_path / "stripped.elf"
    shutil.copyfile(native_build.elf("cortex-m4", "good"), elf)
    subprocess.run(["arm-none-eabi-strip", str(elf)], check=True)

    with pytest.raises(FirmwareInvalid, match="symbol table"):
        inspect_firmware(elf, M4)


@pytest.mark.qemu
def test_firmware_without_infer_section_is_refused(native_build, tmp_path):
    elf = tmp_path / "no-infer.elf"
    subprocess.run(
        [
            "arm-none-eabi-objcopy",
            "--rename-section",
            ".infer=.text.moved",
            str(native_build.elf("cortex-m4", "good")),
            str(elf),
        ],
        check=True,
    )

    with pytest.raises(FirmwareInvalid, match=r"\.infer"):
        inspect_firmware(elf, M4)


@pytest.mark.qemu
def test_overlapping_symbols_are_refused_before_their_names_are_read(native_build, tmp_path):
    elf = tmp_path / "overlapping.elf"
    good = native_build.elf("cortex-m4", "good").read_bytes()
    elf.write_bytes(stretched_symbols(good, 30_000, 1 << 20, entry_size=1))

    with pytest.raises(FirmwareInvalid, match="symbol table entries of 1 bytes, not 16"):
        inspect_firmware(elf, M4)


@pytest.mark.qemu
def test_symbol_names_without_an_end_are_read_only_up_to_the_name_limit(
    native_build, tmp_path, monkeypatch
):
    """30,000 symbols named into 1 MiB without a NUL: each name lookup scans at most
    MAX_NAME_BYTES, not to the end of the table (pyelftools read ~1 MiB per symbol)."""
    elf = tmp_path / "endless-names.elf"
    good = native_build.elf("cortex-m4", "good").read_bytes()
    elf.write_bytes(stretched_symbols(good, 30_000, 1 << 20, entry_size=16))
    scanned = []
    real_find = bytes.find

    class CountingBytes(bytes):
        def find(self, sub, start=0, end=None):
            scanned.append((end or len(self)) - start)
            return real_find(self, sub, start, end)

    from certification.simulation import firmware_image

    real_read = firmware_image._read
    monkeypatch.setattr(firmware_image, "_read", lambda *args: CountingBytes(real_read(*args)))

    with pytest.raises(FirmwareInvalid, match="missing harness symbols"):
        inspect_firmware(elf, M4)
    assert len(scanned) >= 30_000
    assert max(scanned) <= MAX_NAME_BYTES + 1


@pytest.mark.qemu
def test_backend_reports_malformed_elf_as_firmware_invalid(qemu, tmp_path):
    elf = tmp_path / "junk.elf"
    elf.write_bytes(b"MZ not an elf at all")

    result = qemu.run(elf, "cortex-m4", [bytes(4)], output_size=3)

    assert result.error_code is ErrorCode.FIRMWARE_INVALID
    assert result.exit_reason is ExitReason.NOT_STARTED
    assert not result.is_infrastructure_error


@pytest.mark.qemu
def test_unknown_core_is_unsupported(qemu, native_build):
    result = qemu.run(
        native_build.elf("cortex-m4", "good"), "cortex-m85", [bytes(4)], output_size=3
    )

    assert result.error_code is ErrorCode.UNSUPPORTED_CORE
