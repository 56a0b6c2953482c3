"""The Renode adapter: script generation here, simulator_unavailable without Renode."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from certification.simulation.base import ErrorCode
from certification.simulation.boards import BOARDS
from certification.simulation.firmware_image import FirmwareImage
from certification.simulation.renode import (
    RenodeBackend,
    count_from_trace,
    platform_description,
    render_script,
)
from tests.simulation.conftest import SENSOR_VECTORS

IMAGE = FirmwareImage(
    path=Path("firmware.elf"), entry=0x40, infer_start=0x2E0, infer_end=0x460, infer_entry=0x2E0
)


def test_platform_description_maps_the_board_memory_and_uart():
    repl = platform_description(BOARDS["cortex-m33"])

    assert 'cpuType: "cortex-m33"' in repl
    assert "flash: Memory.MappedMemory @ sysbus 0x10000000" in repl
    assert "ram: Memory.MappedMemory @ sysbus 0x38000000\n    size: 0x400000" in repl
    assert "uart0: UART.CMSDK_APB_UART @ sysbus 0x50200000" in repl
    assert "nvic: IRQControllers.NVIC @ sysbus 0xE000E000" in repl


def test_script_loads_firmware_and_inputs_and_captures_uart(tmp_path):
    script = render_script(BOARDS["cortex-m4"], IMAGE, tmp_path)
    lines = script.splitlines()

    assert f"machine LoadPlatformDescription @{tmp_path / 'platform.repl'}" in lines
    assert f"sysbus LoadELF @{tmp_path / 'firmware.elf'}" in lines
    assert f"sysbus LoadBinary @{tmp_path / 'inputs.bin'} 0x20200000" in lines
    assert f"sysbus.uart0 CreateFileBackend @{tmp_path / 'uart.txt'} true" in lines
    assert any("CreateExecutionTracing" in line and "PCAndOpcode" in line for line in lines)
    assert any(line.startswith("sysbus AddWatchpointHook 0xe000ed0c") for line in lines)
    assert lines[0].startswith("#") and "quit" in lines


def test_trace_counting_matches_the_plugin_semantics():
    trace = [
        "0x00000040: 0x4800",
        "0x000002E0: 0xB570",  # entry: call 0
        "0x000002E2: 0x2300",
        "0x00000100: 0x4770",  # outside the section: not counted
        "0x000002E0: 0xB570",  # call 1
        "0x000002E4: 0xBEAB",  # a semihosting trap
        "garbage line",
    ]

    report = count_from_trace(trace, IMAGE)

    assert report.total == 6
    assert report.calls == 2
    assert report.per_call == [2, 2]
    assert report.semihosting_traps == 1


def test_renode_backend_without_renode_is_simulator_unavailable(tmp_path):
    backend = RenodeBackend(renode_binary="renode-is-not-installed-here")

    result = backend.run(tmp_path / "any.elf", "cortex-m4", list(SENSOR_VECTORS), output_size=3)

    assert result.error_code is ErrorCode.SIMULATOR_UNAVAILABLE
    assert result.is_infrastructure_error
    assert not result.ok


@pytest.mark.qemu
@pytest.mark.skipif(shutil.which("renode") is None, reason="Renode is not installed here")
def test_good_firmware_on_renode_matches_qemu(native_build, qemu):
    vectors = list(SENSOR_VECTORS)
    elf = native_build.elf("cortex-m4", "good")

    on_renode = RenodeBackend().run(elf, "cortex-m4", vectors, output_size=3)
    on_qemu = qemu.run(elf, "cortex-m4", vectors, output_size=3)

    assert on_renode.ok, on_renode.detail
    assert on_renode.outputs == on_qemu.outputs
