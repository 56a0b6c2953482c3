"""The smallest tensor arena TFLM accepts is found, and it really is the smallest."""

from __future__ import annotations

import dataclasses

import pytest

from certification.tflm import sample_models
from certification.tflm.sandbox import SandboxError
from tests.tflm.helpers import FAST_LIMITS

pytestmark = pytest.mark.slow


def test_model_runs_in_the_smallest_arena_and_not_one_step_below(open_sandbox):
    model = sample_models.sensor_classifier().tflite
    search = open_sandbox(model).find_smallest_arena()
    assert search.smallest_bytes is not None
    assert search.smallest_bytes % search.step_bytes == 0
    exact = open_sandbox(model, dataclasses.replace(FAST_LIMITS, arena_bytes=search.smallest_bytes))
    assert len(exact.run([[0.5, 0.5, 0.5, 0.5]])[0].values) == 3
    below = dataclasses.replace(FAST_LIMITS, arena_bytes=search.smallest_bytes - search.step_bytes)
    with pytest.raises(SandboxError) as failure:
        open_sandbox(model, below)
    # Just short of enough, TFLM either reports the shortfall or crashes in its allocator.
    assert failure.value.code in ("model_arena_too_large", "model_crashed")


def test_arena_grows_with_the_intermediate_tensor(open_sandbox):
    rows = 1024  # a [1024, 4] float32 intermediate: 16 KiB
    search = open_sandbox(sample_models.arena_hog(rows).tflite).find_smallest_arena()
    assert rows * 4 * 4 <= search.smallest_bytes < rows * 4 * 4 + 4096


def test_no_arena_within_the_ceiling_reports_none(open_sandbox):
    sandbox = open_sandbox(sample_models.arena_hog(4096).tflite)
    search = sandbox.find_smallest_arena(max_bytes=8192)
    assert (search.smallest_bytes, search.max_bytes) == (None, 8192)
