"""Each bad model fails exactly the invariant it breaks, with a shrunk counterexample."""

from __future__ import annotations

import json
import math

import pytest

from certification.tflm import invariants, sample_models
from certification.tflm.invariants import InputDomain
from certification.tflm.sandbox import ModelSandbox
from tests.tflm.helpers import FAST_LIMITS

pytestmark = pytest.mark.slow


def _check(sandbox, model, digest="sha256:bad", examples=200):
    domain = InputDomain.from_manifest(model.manifest_model())
    return invariants.check_invariants(sandbox, model.invariants, domain, digest, examples)


@pytest.fixture(scope="module")
def violation():
    """violation(kind) -> the outcome for that kind's bad model, checked once per module."""
    cache = {}

    def outcome_for(kind):
        if kind not in cache:
            model = sample_models.VIOLATORS[kind]()
            with ModelSandbox(model.tflite, FAST_LIMITS) as sandbox:
                [cache[kind]] = _check(sandbox, model)
        return cache[kind]

    return outcome_for


@pytest.mark.parametrize("kind", sorted(sample_models.VIOLATORS))
def test_violating_model_fails_its_invariant_with_a_counterexample(violation, kind):
    model = sample_models.VIOLATORS[kind]()
    outcome = violation(kind)
    assert outcome.kind == kind == model.violates
    assert not outcome.passed
    assert outcome.error_code is None
    assert len(outcome.counterexample_input) == 4
    low, high = model.input_range
    assert all(low <= v <= high for v in outcome.counterexample_input)
    assert outcome.counterexample_output is not None
    assert outcome.message


def test_output_range_counterexample_really_leaves_the_range(violation, open_sandbox):
    model = sample_models.violates_output_range()
    outcome = violation("output_range")
    # Replayed in a fresh child, the counterexample gives the reported output.
    [replay] = open_sandbox(model.tflite).run([outcome.counterexample_input])
    assert list(replay.values) == outcome.counterexample_output
    assert replay.values[0] > 1.0


def test_finite_counterexample_is_shrunk_to_the_simplest_input(violation):
    outcome = violation("finite")
    assert outcome.counterexample_input == [0.0, 0.0, 0.0, 0.0]
    assert not math.isfinite(outcome.counterexample_output[0])


def test_monotonic_counterexample_is_a_pair_going_the_wrong_way(violation):
    outcome = violation("monotonic")
    low, high = outcome.counterexample_input, outcome.related_input
    assert low[0] < high[0] and low[1:] == high[1:]
    assert outcome.related_output[0] < outcome.counterexample_output[0]


def test_robust_counterexample_stays_within_epsilon(violation):
    outcome = violation("robust")
    pairs = zip(outcome.counterexample_input, outcome.related_input, strict=True)
    moved = [abs(a - b) for a, b in pairs]
    assert max(moved) <= 0.01
    assert abs(outcome.related_output[0] - outcome.counterexample_output[0]) > 0.5


def test_implies_counterexample_lies_in_the_region_and_misses_the_class(violation):
    outcome = violation("implies")
    assert outcome.counterexample_input[0] > 0.8
    scores = outcome.counterexample_output
    assert scores.index(max(scores)) != 2


def test_deterministic_counterexample_shows_two_different_outputs(violation):
    outcome = violation("deterministic")
    assert outcome.related_input == outcome.counterexample_input
    assert outcome.related_output != outcome.counterexample_output


def test_the_same_digest_gives_the_same_counterexamples(violation, open_sandbox):
    for kind in ("output_range", "robust"):
        model = sample_models.VIOLATORS[kind]()
        [again] = _check(open_sandbox(model.tflite), model)
        assert again == violation(kind)


def test_the_seed_depends_on_the_digest_and_the_declaration():
    assert invariants.seed_for("sha256:a", "finite", 0) == invariants.seed_for(
        "sha256:a", "finite", 0
    )
    assert invariants.seed_for("sha256:a", "finite", 0) != invariants.seed_for(
        "sha256:b", "finite", 0
    )
    assert invariants.seed_for("sha256:a", "finite", 0) != invariants.seed_for(
        "sha256:a", "finite", 1
    )


def test_integer_models_are_checked_in_codes_with_integer_counterexamples(open_sandbox):
    model = sample_models.sensor_classifier()
    too_strict = {"kind": "robust", "epsilon": 8, "delta": 1}
    sandbox = open_sandbox(model.tflite)
    domain = InputDomain.from_manifest(model.manifest_model())
    [outcome] = invariants.check_invariants(sandbox, [too_strict], domain, "sha256:int8")
    assert not outcome.passed
    assert all(isinstance(v, int) for v in outcome.counterexample_input + outcome.related_input)
    assert all(-128 <= v <= 127 for v in outcome.counterexample_input)
    assert all(isinstance(v, int) for v in outcome.counterexample_output)


def test_non_finite_counterexamples_serialize_to_strict_json(violation):
    encoded = json.dumps(violation("finite").to_json(), allow_nan=False)
    assert '"-Infinity"' in encoded or '"NaN"' in encoded
