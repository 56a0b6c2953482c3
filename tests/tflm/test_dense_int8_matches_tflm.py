"""The Python reference of the int8 dense network equals TFLM's output, integer for integer."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certification.tflm import builder, sample_models
from certification.tflm.builder import DenseInt8Params, DenseLayerInt8
from certification.tflm.sandbox import ModelSandbox
from tests.tflm.helpers import FAST_LIMITS

pytestmark = pytest.mark.slow


def _all_extremes(size: int) -> list[list[int]]:
    return [[(-128, 127)[(n >> k) & 1] for k in range(size)] for n in range(1 << size)]


def test_sensor_classifier_reference_is_bit_exact_with_tflm(open_sandbox):
    params = sample_models.sensor_classifier_params()
    rng = random.Random(4)
    codes = _all_extremes(4) + [[rng.randint(-128, 127) for _ in range(4)] for _ in range(3000)]
    sandbox = open_sandbox(builder.build_dense_int8(params))
    results = sandbox.run(codes, raw=True)
    mismatches = [
        (x, list(r.raw), params.infer(x))
        for x, r in zip(codes, results, strict=True)
        if list(r.raw) != params.infer(x)
    ]
    assert mismatches == []


def test_sensor_classifier_dequantized_outputs_use_the_output_scale(open_sandbox):
    params = sample_models.sensor_classifier_params()
    sandbox = open_sandbox(builder.build_dense_int8(params))
    [result] = sandbox.run([[0.9, 0.2, 0.5, 0.3]])
    codes = params.infer(params.quantize_input([0.9, 0.2, 0.5, 0.3]))
    assert list(result.raw) == codes
    assert list(result.values) == pytest.approx(params.dequantize_output(codes))


def _layers(draw, sizes: list[int]) -> tuple[DenseLayerInt8, ...]:
    layers = []
    for index, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        weights = tuple(
            tuple(draw(st.integers(-127, 127)) for _ in range(n_in)) for _ in range(n_out)
        )
        bias = tuple(draw(st.integers(-5000, 5000)) for _ in range(n_out))
        layers.append(
            DenseLayerInt8(
                weights=weights,
                bias=bias,
                weight_scale=draw(st.floats(1e-3, 0.5)),
                output_scale=draw(st.floats(1e-3, 2.0)),
                output_zero_point=draw(st.integers(-128, 127)),
                relu=index < len(sizes) - 2 or draw(st.booleans()),
            )
        )
    return tuple(layers)


@st.composite
def dense_params(draw) -> DenseInt8Params:
    sizes = draw(st.lists(st.integers(1, 6), min_size=2, max_size=4))
    return DenseInt8Params(
        name="random_dense",
        input_scale=draw(st.floats(1e-3, 1.0)),
        input_zero_point=draw(st.integers(-128, 127)),
        layers=_layers(draw, sizes),
    )


# Each example starts a sandbox; a handful covers multipliers above and below 1 (both
# shift signs), relu and no activation, and several depths.
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(params=dense_params(), seed=st.integers(0, 1000))
def test_random_int8_networks_are_bit_exact_with_tflm(params, seed):
    rng = random.Random(seed)
    codes = [[rng.randint(-128, 127) for _ in range(params.input_size)] for _ in range(200)]
    with ModelSandbox(builder.build_dense_int8(params), FAST_LIMITS) as sandbox:
        results = sandbox.run(codes, raw=True)
    assert [list(r.raw) for r in results] == [params.infer(x) for x in codes]
