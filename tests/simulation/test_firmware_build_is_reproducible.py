"""Fixture firmware builds byte for byte the same, wherever it is built."""

from __future__ import annotations

import hashlib

import pytest

from certification.simulation import toolchain
from certification.tflm import builder, sample_models

pytestmark = pytest.mark.qemu


def test_two_builds_in_different_directories_are_identical(native_build, tmp_path):
    header = tmp_path / "model.h"
    header.write_text(builder.to_c_header(sample_models.sensor_classifier_params()))

    rebuilt = toolchain.build_fixtures(tmp_path / "again", "mps2-an386", header)

    for name, path in rebuilt.items():
        original = native_build.firmware["mps2-an386"][name]
        assert (
            hashlib.sha256(path.read_bytes()).digest()
            == hashlib.sha256(original.read_bytes()).digest()
        ), name
