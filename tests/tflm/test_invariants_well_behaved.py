"""A well-behaved model passes every invariant kind it declares."""

from __future__ import annotations

import pytest

from certification.tflm import invariants, sample_models
from certification.tflm.invariants import InputDomain

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    "factory", [sample_models.sensor_classifier, sample_models.sensor_classifier_float]
)
def test_sensor_classifier_passes_every_declared_invariant(open_sandbox, factory):
    model = factory()
    sandbox = open_sandbox(model.tflite)
    domain = InputDomain.from_manifest(model.manifest_model())
    outcomes = invariants.check_invariants(
        sandbox, model.invariants, domain, package_digest="sha256:good", max_examples=100
    )
    assert {o.kind for o in outcomes} == set(invariants.KINDS)
    assert domain.integer == (model.input_dtype == "int8")
    for outcome in outcomes:
        assert outcome.passed, outcome.message
        assert outcome.examples == 100
        assert outcome.counterexample_input is None
