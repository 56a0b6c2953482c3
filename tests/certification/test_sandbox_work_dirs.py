"""A sandbox that cannot start, or a model that cannot load, leaves no work directory behind.

Every stage that opens the model sandbox (directly or with ``with``) removes its
"edgeplug-tflm-*" directory and the child's log, even when the start fails; a sandbox that
cannot start is retried by the task, so a leak would grow with every retry."""

import os
import tempfile
from importlib import import_module

import pytest

from certification.pipeline.stages.base import InfrastructureError
from certification.tflm import sample_models, sandbox
from tests.certification.conftest import model_package
from tests.certification_security.conftest import stage_context

pytestmark = pytest.mark.django_db


@pytest.fixture
def worker_tmp(tmp_path, monkeypatch):
    folder = tmp_path / "worker-tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.mark.parametrize("stage", ["validation", "invariants", "performance", "simulation"])
def test_each_retry_of_a_sandbox_that_cannot_start_leaves_no_work_dir(
    stage, worker_tmp, monkeypatch
):
    context = stage_context(model_package(firmware=b"\x7fELF" + bytes(60)), level="hardware")
    monkeypatch.setattr(sandbox.sys, "executable", "/nonexistent/python3")
    for _ in range(3):  # the task's retries
        with pytest.raises(InfrastructureError):
            import_module(f"certification.pipeline.stages.{stage}").run(context)
    left = sorted(os.listdir(worker_tmp))
    assert left == [], f"the {stage} stage left {left}"


@pytest.mark.slow
def test_a_model_the_simulation_stage_cannot_load_leaves_no_work_dir(worker_tmp):
    data = model_package(sample_models.truncated(), firmware=b"\x7fELF" + bytes(60))
    outcome = import_module("certification.pipeline.stages.simulation").run(
        stage_context(data, level="hardware")
    )
    assert outcome.error_code == "model_invalid", outcome
    left = [(name, sorted(os.listdir(worker_tmp / name))) for name in os.listdir(worker_tmp)]
    assert left == [], f"the simulation stage left {left}"
