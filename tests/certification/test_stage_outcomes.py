"""Each stage's verdict on good and bad models, run in-process (no Celery)."""

import pytest

from certification.models import LevelThresholds
from certification.tflm import builder, sample_models
from certification.tflm.builder import DenseLayerFloat
from tests.certification.conftest import model_package

pytestmark = pytest.mark.django_db


def _results(run):
    return {r.test_suite: r for r in run.results.all()}


def test_good_model_passes_every_basic_stage_and_is_signed(certify):
    run = certify(model_package())
    results = _results(run)
    assert run.status == "passed", {k: (r.test_result, r.test_logs) for k, r in results.items()}
    assert set(results) == {"validation", "invariants", "performance", "signing"}
    assert all(r.test_result == "pass" for r in results.values())
    perf = results["performance"].metrics
    assert perf["latency_label"] == "estimate"
    assert perf["host_latency_label"] == "host-only"
    assert perf["arena_bytes"] > 0
    assert run.version.certification_status == "certified"
    assert hasattr(run, "certificate")


def test_a_model_slower_than_it_declares_fails_at_every_level(certify):
    """The declared inference time is the vendor's promise, checked against the estimate at
    basic too (only the level's gate is off there): a run declaring 1 µs passed basic."""
    run = certify(
        model_package(limits={"inference_time_us": 1, "model_size_kb": 64, "arena_kb": 16})
    )
    performance = _results(run)["performance"]
    assert (run.status, performance.error_code) == ("failed", "budget_exceeded")
    failed = [check["name"] for check in performance.findings]
    assert failed == ["latency_vs_declared"], performance.test_logs
    assert not hasattr(run, "certificate")


def test_the_invariants_stage_reports_the_examples_it_ran_not_the_ones_allowed(certify):
    """Hypothesis stops once it has tried every input there is: a model of one input whose
    declared range holds one value, where the level allows 100 examples per invariant. The
    stage's ``examples`` metric, and the certificate that carries it, said 100."""
    identity = DenseLayerFloat(weights=((1.0,),), bias=(0.0,))
    sample = sample_models.SampleModel(
        name="level",
        tflite=builder.build_dense_float("level", [identity]),
        input_range=(0.5, 0.5),
        input_shape=(1, 1),
    )
    run = certify(model_package(sample, invariants=[{"kind": "finite"}, {"kind": "finite"}]))
    invariants = _results(run)["invariants"]
    assert (run.status, invariants.test_result) == ("passed", "pass"), invariants.test_logs
    assert invariants.test_logs.splitlines() == ["PASS finite: no violation in 2 examples"] * 2
    counts = {key: invariants.metrics.get(key) for key in ("examples", "max_examples")}
    assert counts == {"examples": 4, "max_examples": 100}
    stages = {stage["stage"]: stage for stage in run.certificate.payload["stages"]}
    assert stages["invariants"]["metrics"] == {"invariants": 2, "examples": 4, "max_examples": 100}


VIOLATIONS = ["output_range", "finite", "deterministic", "monotonic", "robust", "implies"]


@pytest.mark.parametrize("kind", VIOLATIONS)
def test_each_bad_model_fails_invariants_with_its_counterexample(certify, kind):
    sample = getattr(sample_models, f"violates_{kind}")()
    run = certify(model_package(sample, name=f"bad-{kind.replace('_', '-')}"))
    results = _results(run)
    assert run.status == "failed"
    invariants = results["invariants"]
    assert invariants.test_result == "fail"
    failing = [f for f in invariants.findings if f["kind"] == kind]
    assert failing, invariants.findings
    assert failing[0]["counterexample_input"] is not None
    assert failing[0]["counterexample_output"] is not None
    assert "signing" not in results


def test_hanging_model_fails_on_its_time_limit(certify):
    LevelThresholds.objects.create(level="basic", model_wall_seconds=3)
    run = certify(
        model_package(sample_models.endless_loop(), name="hang", invariants=[{"kind": "finite"}])
    )
    results = _results(run)
    assert run.status == "failed"
    stage = (
        results["validation"]
        if results["validation"].test_result == "fail"
        else results["invariants"]
    )
    assert stage.error_code in ("model_timeout",), (stage.test_suite, stage.test_logs)


def test_truncated_model_fails_validation_and_skips_the_rest(certify):
    run = certify(model_package(sample_models.truncated(), name="broken"))
    results = _results(run)
    assert run.status == "failed"
    assert results["validation"].test_result == "fail"
    assert results["validation"].error_code == "model_invalid"
    assert set(results) == {"validation"}


def test_a_model_too_large_for_the_sandbox_pipe_fails_validation_with_a_reason(certify):
    """A 49 MiB model.tflite (the package under the 64 MiB cap, the entry under the 100:1
    ratio): its base64 form does not fit the sandbox's 64 MiB frame. That is the model's
    failing, not a crashed stage with a traceback."""
    import os

    model = b"\x1c\x00\x00\x00TFL3" + os.urandom(49 * 1024 * 1024)
    sample = sample_models.SampleModel(
        name="huge", tflite=model, input_range=(-1.0, 1.0), invariants=({"kind": "finite"},)
    )
    run = certify(
        model_package(
            sample, limits={"inference_time_us": 400, "model_size_kb": 65536, "arena_kb": 16}
        ),
        level="basic",
    )
    validation = _results(run)["validation"]
    assert (run.status, validation.test_result, validation.error_code) == (
        "failed",
        "fail",
        "model_too_large_for_sandbox",
    ), validation.test_logs[:300]


def test_the_stage_time_limit_during_the_invariant_searches_is_a_verdict_not_a_crash(
    certify, monkeypatch
):
    """Celery's soft limit firing inside the searches used to be recorded ``stage_crashed``
    (``IndexError`` once Hypothesis had called it ``Flaky``)."""
    from celery.exceptions import SoftTimeLimitExceeded

    from certification.pipeline.stages import invariants as stage

    def out_of_time(*args, **kwargs):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(stage, "check_invariants", out_of_time)
    run = certify(model_package())
    invariants = _results(run)["invariants"]
    assert (run.status, invariants.test_result, invariants.error_code) == (
        "failed",
        "fail",
        "invariants_time_exceeded",
    ), invariants.test_logs
