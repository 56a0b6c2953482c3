"""Hostile firmware fails the run for its own reason, in bounded time, without harming the host."""

from __future__ import annotations

import subprocess
import time

import pytest

from certification.simulation.base import ErrorCode, ExitReason, SimulationLimits
from certification.simulation.qemu import QemuBackend
from tests.simulation.conftest import SENSOR_VECTORS

pytestmark = pytest.mark.qemu

LIMITS = SimulationLimits(timeout_s=6.0, cpu_s=10, uart_cap_bytes=64 * 1024)
BOUND_S = 20.0


def _run(qemu: QemuBackend, native_build, fixture: str, inputs=SENSOR_VECTORS):
    started = time.monotonic()
    result = qemu.run(
        native_build.elf("cortex-m4", fixture),
        "cortex-m4",
        list(inputs),
        output_size=3,
        limits=LIMITS,
    )
    return result, time.monotonic() - started


def test_endless_loop_ends_on_the_timeout(qemu, native_build):
    result, elapsed = _run(qemu, native_build, "hang")

    assert result.error_code is ErrorCode.FIRMWARE_TIMEOUT
    assert result.exit_reason is ExitReason.TIMEOUT
    assert LIMITS.timeout_s <= elapsed < BOUND_S


def test_hard_fault_is_reported_as_a_fault(qemu, native_build):
    result, elapsed = _run(qemu, native_build, "fault")

    assert result.error_code is ErrorCode.FIRMWARE_FAULT
    assert "EPFAULT" in result.detail
    assert elapsed < BOUND_S


def test_uart_flood_is_cut_at_the_cap(qemu, native_build):
    result, elapsed = _run(qemu, native_build, "flood")

    assert result.error_code is ErrorCode.UART_OVERFLOW
    assert result.uart_truncated
    assert len(result.uart_log.encode()) <= LIMITS.uart_cap_bytes
    assert elapsed < BOUND_S


@pytest.mark.parametrize("bubblewrap", [True, False], ids=["bubblewrap", "rlimits-only"])
def test_semihosting_cannot_run_a_host_command(native_build, tmp_path, bubblewrap):
    marker = tmp_path / "semihosting-ran"
    command = f"touch {marker}".encode().ljust(64, b"\0")
    backend = QemuBackend(plugin_path=native_build.plugin, use_bubblewrap=bubblewrap)
    if bubblewrap:
        from certification.simulation.sandbox import bubblewrap_works

        if not bubblewrap_works():
            pytest.skip("bubblewrap cannot create namespaces on this machine")

    result = backend.run(
        native_build.elf("cortex-m4", "semihost"),
        "cortex-m4",
        [command],
        output_size=3,
        limits=LIMITS,
    )

    assert result.error_code is ErrorCode.SEMIHOSTING_BLOCKED
    assert not marker.exists()


def test_semihost_fixture_really_runs_host_commands_when_semihosting_is_on(native_build, tmp_path):
    """Control: the fixture is a real threat, so the test above proves the blocking works."""
    marker = tmp_path / "semihosting-ran"
    inputs = tmp_path / "inputs.bin"
    from certification.simulation.harness_abi import pack_input_block

    inputs.write_bytes(pack_input_block([f"touch {marker}".encode().ljust(64, b"\0")], 3))
    subprocess.run(
        [
            "qemu-system-arm",
            "-M",
            "mps2-an386",
            "-nographic",
            "-nodefaults",
            "-monitor",
            "none",
            "-serial",
            "null",
            "-icount",
            "shift=0",
            "-no-reboot",
            "-semihosting-config",
            "enable=on",
            "-kernel",
            str(native_build.elf("cortex-m4", "semihost")),
            "-device",
            f"loader,file={inputs},addr=0x20200000,force-raw=on",
        ],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=30,
        check=False,
    )

    assert marker.exists()
