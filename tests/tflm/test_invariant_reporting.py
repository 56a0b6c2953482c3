"""Malformed declarations, dead models and flaky ones give clear outcomes, never exceptions."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from certification.tflm import invariants, sample_models
from certification.tflm.invariants import InputDomain
from certification.tflm.sandbox import Inference, SandboxError
from tests.tflm.helpers import FAST_LIMITS

DOMAIN = InputDomain.from_bounds(4, 0.0, 1.0)


class SumRunner:
    """A pure, deterministic stand-in model: outputs (sum, -sum, 0)."""

    def run(self, examples, raw=False):
        return [
            Inference(values=(sum(x), -sum(x), 0.0), raw=(sum(x), -sum(x), 0.0)) for x in examples
        ]


class FlickeringRunner(SumRunner):
    """Adds invocation-count noise: a model whose output depends on hidden state."""

    def __init__(self):
        self.counter = itertools.count()

    def run(self, examples, raw=False):
        return [
            Inference(values=(v := sum(x) + next(self.counter) / 1000, v, v), raw=(v, v, v))
            for x in examples
        ]


class DeadRunner:
    def run(self, examples, raw=False):
        raise SandboxError("model_timeout", "the child did not answer in 1 s")


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ({"kind": "bogus"}, "unknown invariant kind"),
        ({"kind": "output_range", "min": 0}, "needs 'max'"),
        ({"kind": "output_range", "min": 0, "max": 1, "outputs": [7]}, "output 7 is not one"),
        (
            {"kind": "monotonic", "input": 9, "output": 0, "direction": "increasing"},
            "input 9 is not",
        ),
        ({"kind": "monotonic", "input": 0, "output": 0, "direction": "up"}, "direction"),
        ({"kind": "robust", "epsilon": -1, "delta": 1}, "must not be negative"),
        ({"kind": "implies", "when": [], "then": {"argmax": 0}}, "non-empty list"),
        (
            {
                "kind": "implies",
                "when": [{"input": 0, "op": "gt", "value": 2}],
                "then": {"argmax": 0},
            },
            "no input inside",
        ),
        (
            {
                "kind": "implies",
                "when": [{"input": 0, "op": ">", "value": 0}],
                "then": {"argmax": 0},
            },
            "op must be one of",
        ),
        (
            {
                "kind": "implies",
                "when": [{"input": 0, "op": "gt", "value": 0}],
                "then": {"argmax": 5},
            },
            "output 5 is not one",
        ),
    ],
)
def test_malformed_declarations_are_reported_as_invariant_invalid(spec, fragment):
    outcome = invariants.check_invariant(SumRunner(), spec, DOMAIN, seed_value=1)
    assert not outcome.passed
    assert outcome.error_code == "invariant_invalid"
    assert fragment in outcome.message


def test_determinism_check_catches_a_runner_with_hidden_state():
    outcome = invariants.check_invariant(
        FlickeringRunner(), {"kind": "deterministic"}, DOMAIN, seed_value=3, max_examples=20
    )
    assert not outcome.passed and outcome.error_code is None
    assert outcome.counterexample_input == outcome.related_input


def test_examples_per_invariant_are_configurable():
    outcome = invariants.check_invariant(
        SumRunner(), {"kind": "finite"}, DOMAIN, seed_value=3, max_examples=37
    )
    assert outcome.passed and outcome.examples == 37


def test_implies_with_an_output_comparison_and_several_conditions():
    spec = {
        "kind": "implies",
        "when": [{"input": 0, "op": "ge", "value": 0.5}, {"input": 1, "op": "gt", "value": 0.5}],
        "then": {"output": 0, "op": "gt", "value": 1.0},
    }
    assert invariants.check_invariant(SumRunner(), spec, DOMAIN, seed_value=5).passed
    spec["then"] = {"output": 0, "op": "gt", "value": 1.5}
    failed = invariants.check_invariant(SumRunner(), spec, DOMAIN, seed_value=5)
    assert not failed.passed
    assert failed.counterexample_input[0] >= 0.5 and failed.counterexample_input[1] > 0.5


def test_a_dead_model_is_an_error_and_later_invariants_are_not_run():
    specs = [{"kind": "finite"}, {"kind": "deterministic"}]
    outcomes = invariants.check_invariants(DeadRunner(), specs, DOMAIN, "sha256:x")
    assert [o.error_code for o in outcomes] == ["model_timeout", "model_timeout"]
    assert outcomes[1].message.startswith("not checked")


@pytest.mark.slow
def test_a_hanging_model_fails_its_invariants_on_the_time_limit(open_sandbox):
    model = sample_models.endless_loop()
    sandbox = open_sandbox(model.tflite, dataclasses.replace(FAST_LIMITS, wall_seconds=1.5))
    [outcome] = invariants.check_invariants(sandbox, model.invariants, DOMAIN, "sha256:hang")
    assert (outcome.passed, outcome.error_code) == (False, "model_timeout")
    assert outcome.examples == 0


def test_input_domain_accepts_per_element_bounds():
    domain = InputDomain.from_bounds(2, [0.0, -1.0], [1.0, 1.0])
    assert domain.clip([5.0, -5.0]) == [1.0, -1.0]
    with pytest.raises(invariants.InvariantSpecError):
        InputDomain.from_bounds(3, [0.0, 1.0], 2.0)


class ViolatesOnceRunner:
    """Out of range on its fourth evaluation only: a violation that will not replay."""

    def __init__(self):
        self.calls = 0

    def run(self, examples, raw=False):
        results = []
        for _ in examples:
            self.calls += 1
            value = 5.0 if self.calls == 4 else 0.0
            results.append(Inference(values=(value,), raw=(value,)))
        return results


def test_a_violation_that_does_not_replay_is_still_reported_and_flagged():
    spec = {"kind": "output_range", "min": 0.0, "max": 1.0}
    outcome = invariants.check_invariant(ViolatesOnceRunner(), spec, DOMAIN, seed_value=7)
    assert not outcome.passed
    assert outcome.counterexample_output == [5.0]
    assert "did not reproduce" in outcome.message
