"""Hostile models fail with a specific code, in bounded time, and never hurt the caller."""

from __future__ import annotations

import dataclasses
import os
import random
import time

import pytest

from certification.tflm import sample_models
from certification.tflm.sandbox import ModelSandbox, SandboxError, inspect_model
from tests.tflm.helpers import FAST_LIMITS

pytestmark = pytest.mark.slow


def test_hanging_model_times_out_and_its_process_group_is_killed():
    limits = dataclasses.replace(FAST_LIMITS, wall_seconds=2.0)
    sandbox = ModelSandbox(sample_models.endless_loop().tflite, limits)
    sandbox.start()
    started = time.monotonic()
    with pytest.raises(SandboxError) as failure:
        sandbox.run([[0.5] * 4])
    assert failure.value.code == "model_timeout"
    assert time.monotonic() - started < 6
    pid = sandbox._process.pid
    sandbox.close()
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)


def test_cpu_limit_ends_a_hanging_model_even_with_a_generous_deadline():
    limits = dataclasses.replace(FAST_LIMITS, cpu_seconds=1, wall_seconds=20.0)
    started = time.monotonic()
    result = inspect_model(sample_models.endless_loop().tflite, limits)
    assert (result.ok, result.error_code) == (False, "model_timeout")
    assert "CPU" in result.error_detail
    assert time.monotonic() - started < 10


@pytest.mark.parametrize(
    ("model", "fragment"),
    [
        (sample_models.truncated().tflite, "does not parse"),
        (sample_models.oversized_tensor().tflite, "needs 4294967296 bytes"),
        (b"", "too short"),
        # Fixed noise: every pytest worker must collect the same parameters (pytest-xdist).
        (random.Random(0).randbytes(256), "TFL3"),
        (b"\x10\x00\x00\x00TFL3" + b"\xff" * 64, "does not parse"),
    ],
    ids=["truncated", "oversized_tensor", "empty", "noise", "tables_past_the_end"],
)
def test_malformed_flatbuffers_are_model_invalid(model, fragment):
    result = inspect_model(model, FAST_LIMITS)
    assert (result.ok, result.error_code) == (False, "model_invalid")
    assert fragment in result.error_detail


def test_model_using_an_op_tflm_lacks_is_unsupported():
    result = inspect_model(sample_models.unsupported_op().tflite, FAST_LIMITS)
    assert (result.ok, result.error_code) == (False, "model_unsupported_op")
    assert "TILE" in result.error_detail


def test_raw_integer_inputs_are_clamped_to_the_dtype(open_sandbox):
    sandbox = open_sandbox(sample_models.sensor_classifier().tflite)
    clamped, edge = sandbox.run([[500, -500, 128, 0], [127, -128, 127, 0]], raw=True)
    assert clamped.raw == edge.raw


def test_an_interpreter_crash_is_reported_not_propagated():
    # TFLM segfaults when its arena cannot even hold its own bookkeeping.
    limits = dataclasses.replace(FAST_LIMITS, arena_bytes=64)
    result = inspect_model(sample_models.sensor_classifier().tflite, limits)
    assert (result.ok, result.error_code) == (False, "model_crashed")
    assert "SIGSEGV" in result.error_detail
    assert "Failed to allocate" in result.log_tail


def test_model_needing_more_arena_than_allowed_is_refused():
    result = inspect_model(sample_models.arena_hog().tflite, FAST_LIMITS)
    assert (result.ok, result.error_code) == (False, "model_arena_too_large")


def test_arena_beyond_the_address_space_limit_is_a_memory_limit_failure():
    limits = dataclasses.replace(FAST_LIMITS, arena_bytes=512 << 20, memory_bytes=448 << 20)
    result = inspect_model(sample_models.arena_hog().tflite, limits)
    assert (result.ok, result.error_code) == (False, "model_memory_limit")


def test_a_failed_sandbox_keeps_failing_and_the_next_one_works():
    limits = dataclasses.replace(FAST_LIMITS, wall_seconds=1.0)
    with ModelSandbox(sample_models.endless_loop().tflite, limits) as sandbox:
        with pytest.raises(SandboxError):
            sandbox.run([[0.0] * 4])
        started = time.monotonic()
        with pytest.raises(SandboxError) as again:
            sandbox.run([[0.0] * 4])
        assert again.value.code == "model_timeout"
        assert time.monotonic() - started < 0.5
    with ModelSandbox(sample_models.sensor_classifier().tflite, FAST_LIMITS) as healthy:
        assert len(healthy.run([[0.1, 0.2, 0.3, 0.4]])[0].values) == 3


def test_inspection_of_a_good_model_reports_everything():
    result = inspect_model(sample_models.sensor_classifier().tflite, FAST_LIMITS, latency_runs=50)
    assert result.ok and result.error_code is None
    assert result.description.op_set == ("FULLY_CONNECTED",)
    assert result.arena.smallest_bytes > 0
    assert result.latency.runs == 50 and result.latency.label == "host-only"
    assert 0 < result.latency.p50_us <= result.latency.p99_us
