"""Models built without TensorFlow load in TFLM with the shapes, types and ops we asked for."""

from __future__ import annotations

import numpy as np
import pytest

from certification.tflm import builder, graph, sample_models
from certification.tflm.builder import DenseLayerFloat


@pytest.mark.parametrize(
    ("factory", "ops"),
    [
        (sample_models.sensor_classifier, ("FULLY_CONNECTED",)),
        (sample_models.violates_finite, ("FULLY_CONNECTED", "LOG")),
        (sample_models.violates_monotonic, ("MUL",)),
        (
            sample_models.violates_deterministic,
            ("ADD", "ASSIGN_VARIABLE", "FULLY_CONNECTED", "READ_VARIABLE", "VAR_HANDLE"),
        ),
        (sample_models.endless_loop, ("ADD", "GREATER_EQUAL", "WHILE")),
        (sample_models.arena_hog, ("BROADCAST_TO", "SUM")),
    ],
)
def test_built_models_are_structurally_valid_with_their_ops(factory, ops):
    parsed = graph.parse(factory().tflite)
    graph.check_structure(parsed)
    assert graph.describe_graph(parsed).op_set == ops


def test_structural_check_rejects_out_of_range_indices_and_overflowing_tensors():
    parsed = graph.parse(sample_models.sensor_classifier().tflite)
    parsed.subgraphs[0].operators[0].inputs = [0, 99, 2]
    with pytest.raises(graph.InvalidModel, match="refers to tensor 99"):
        graph.check_structure(parsed)
    with pytest.raises(graph.InvalidModel, match="needs 4294967296 bytes"):
        graph.check_structure(graph.parse(sample_models.oversized_tensor().tflite))
    with pytest.raises(graph.InvalidModel, match="TFL3"):
        graph.parse(b"\x00" * 64)


@pytest.mark.slow
def test_float_dense_model_computes_the_numpy_result(open_sandbox):
    layers = [
        DenseLayerFloat(
            weights=((1.0, -2.0), (0.5, 0.25), (-1.0, 1.0)), bias=(0.1, 0, -3), relu=True
        ),
        DenseLayerFloat(weights=((1.0, 1.0, 1.0),), bias=(0.5,)),
    ]
    sandbox = open_sandbox(builder.build_dense_float("two_layers", layers))
    x = np.array([0.75, -0.5], dtype=np.float32)
    hidden = np.maximum(np.array(layers[0].weights, np.float32) @ x + layers[0].bias, 0)
    expected = np.array(layers[1].weights, np.float32) @ hidden + layers[1].bias
    [result] = sandbox.run([x.tolist()])
    assert result.values == pytest.approx(expected.tolist(), rel=1e-6)
    assert sandbox.description.inputs[0].dtype == "float32"
    assert sandbox.description.outputs[0].shape == (1, 1)


@pytest.mark.slow
def test_int8_model_carries_the_parameters_quantization(open_sandbox):
    params = sample_models.sensor_classifier_params()
    description = open_sandbox(builder.build_dense_int8(params)).description
    [model_input], [model_output] = description.inputs, description.outputs
    assert (model_input.dtype, model_input.shape) == ("int8", (1, 4))
    assert model_input.scales == (pytest.approx(params.input_scale),)
    assert model_input.zero_points == (params.input_zero_point,)
    assert (model_output.dtype, model_output.shape) == ("int8", (1, 3))
    assert model_output.zero_points == (params.output_zero_point,)


@pytest.mark.slow
def test_stateful_model_drifts_between_invokes(open_sandbox):
    sandbox = open_sandbox(sample_models.violates_deterministic().tflite)
    outputs = [r.values[0] for r in sandbox.run([[0.0, 0.0, 0.0, 0.0]] * 3)]
    assert outputs == [0.25, 0.5, 0.75]
