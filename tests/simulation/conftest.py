"""Fixtures for the hardware-in-the-loop tests: native builds, the QEMU backend, TFLM reference.

The QEMU plugin and every fixture firmware are built once per session from this repository's
C sources (Debian's gcc and arm-none-eabi-gcc); tests that need them skip, saying why, only
when those tools are not installed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from certification.simulation import toolchain
from certification.simulation.boards import BOARDS
from certification.simulation.qemu import QemuBackend
from certification.tflm import sample_models

SENSOR_VECTORS = (
    bytes([0x80, 0x00, 0x32, 0x7F]),
    bytes([0x0A, 0x14, 0x1E, 0x28]),
    bytes([0xF0, 0x01, 0x02, 0x03]),
    bytes([0x7F, 0x7F, 0x7F, 0x7F]),
    bytes([0x80, 0x80, 0x80, 0x80]),
)


@dataclass(frozen=True)
class NativeBuild:
    plugin: Path
    firmware: dict[str, dict[str, Path]]  # board name -> fixture name -> ELF

    def elf(self, core: str, fixture: str) -> Path:
        return self.firmware[BOARDS[core].name][fixture]


@pytest.fixture(scope="session")
def native_build(tmp_path_factory: pytest.TempPathFactory) -> NativeBuild:
    missing = toolchain.missing_tools()
    if missing:
        pytest.skip(f"firmware simulation needs {', '.join(missing)} (apt packages, see docs)")
    root = tmp_path_factory.mktemp("native")
    plugin = toolchain.build_plugin(root / "plugin")
    firmware = {
        board.name: toolchain.build_sample_fixtures(root / "firmware", board.name)
        for board in BOARDS.values()
    }
    return NativeBuild(plugin=plugin, firmware=firmware)


@pytest.fixture(scope="session")
def qemu(native_build: NativeBuild) -> QemuBackend:
    return QemuBackend(plugin_path=native_build.plugin)


@pytest.fixture(scope="session")
def tflm_reference():
    """Run the sensor classifier ``.tflite`` in the TFLM interpreter: int8 bytes in and out."""
    from tflite_micro.python.tflite_micro import runtime

    interpreter = runtime.Interpreter.from_bytes(sample_models.sensor_classifier().tflite)

    def infer(vector: bytes) -> bytes:
        interpreter.set_input(np.frombuffer(vector, dtype=np.int8).reshape(1, -1), 0)
        interpreter.invoke()
        return np.asarray(interpreter.get_output(0), dtype=np.int8).tobytes()

    return infer
