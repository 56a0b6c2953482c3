"""Build the simulation's native parts: the QEMU counting plugin and the fixture firmware.

Both are built from this repository's C sources with Debian's compilers (``gcc`` for the
plugin, ``arm-none-eabi-gcc`` for the firmware) through their Makefiles; nothing prebuilt is
committed. Set-up and the test suite call these functions; ``make`` can be used directly too.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from edgeplug.errors import DomainError

CERTIFICATION_DIR = Path(__file__).resolve().parents[1]
FIRMWARE_DIR = CERTIFICATION_DIR / "firmware"
PLUGIN_DIR = CERTIFICATION_DIR / "qemu_plugin"
FIXTURES = ("good", "disagree", "hang", "fault", "flood", "semihost")
REQUIRED_TOOLS = ("make", "cc", "arm-none-eabi-gcc", "qemu-system-arm")


class BuildFailed(DomainError, code="build_failed", status=500):
    """The ARM toolchain could not build the firmware."""


def missing_tools() -> list[str]:
    """The build and emulation tools that are not on PATH."""
    return [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]


def _make(directory: Path, *arguments: str) -> None:
    completed = subprocess.run(
        ["make", "--no-print-directory", "-C", str(directory), *arguments],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if completed.returncode != 0:
        raise BuildFailed(f"make {' '.join(arguments)} failed:\n{completed.stderr[-4000:]}")


def build_plugin(out_dir: Path) -> Path:
    """Build ``libinsn_count.so`` into ``out_dir`` and return its path."""
    _make(PLUGIN_DIR, f"O={out_dir}")
    return out_dir / "libinsn_count.so"


def build_fixtures(out_dir: Path, board: str, model_header: Path) -> dict[str, Path]:
    """Build every fixture firmware for ``board``; ``model_header`` is the dense model's C header.

    Returns the ELF path of each fixture by name.
    """
    _make(
        FIRMWARE_DIR, "fixtures", f"BOARD={board}", f"O={out_dir}", f"MODEL_HEADER={model_header}"
    )
    return {name: out_dir / board / f"{name}.elf" for name in FIXTURES}


def build_sample_fixtures(out_dir: Path, board: str) -> dict[str, Path]:
    """Every fixture firmware for ``board`` with the sample sensor classifier's weights (the
    model the tests, ``make bench`` and ``manage.py example_agent`` certify)."""
    from certification.tflm import builder, sample_models

    header = out_dir / "sensor_classifier.h"
    text = builder.to_c_header(sample_models.sensor_classifier_params())
    if not header.exists() or header.read_text() != text:  # unchanged: make rebuilds nothing
        out_dir.mkdir(parents=True, exist_ok=True)
        header.write_text(text)
    return build_fixtures(out_dir, board, header)
