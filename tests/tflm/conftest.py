"""Fixtures for the TFLite Micro tests: sample models and a sandbox factory.

These tests need no Django; they run with ``-p no:django --confcutdir=tests/tflm``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from certification.tflm.sandbox import ModelSandbox, SandboxLimits
from tests.tflm.helpers import FAST_LIMITS


@pytest.fixture
def open_sandbox() -> Iterator[Callable[..., ModelSandbox]]:
    """open_sandbox(model, limits=FAST_LIMITS) -> a started sandbox, closed after the test."""
    opened: list[ModelSandbox] = []

    def start(model: bytes, limits: SandboxLimits = FAST_LIMITS) -> ModelSandbox:
        sandbox = ModelSandbox(model, limits)
        opened.append(sandbox)
        sandbox.start()
        return sandbox

    yield start
    for sandbox in opened:
        sandbox.close()
