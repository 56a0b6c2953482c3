"""Reference models for tests and fixture packages, each with the manifest invariants it claims.

``sensor_classifier`` is well behaved: it satisfies every invariant it declares. Each
``violates_*`` model declares one invariant it breaks, so the certification stage that checks
that invariant must fail it with a counterexample. The hostile ones (``endless_loop``,
``arena_hog``, ``unsupported_op``, ``oversized_tensor``, ``truncated``) exercise the
sandbox's failure paths.

The sensor classifier reads four normalized sensor values in [0, 1] (temperature, vibration,
pressure, motor current) and scores three classes: 0 normal, 1 warning, 2 shutdown. As the
manifest schema requires, every range and invariant is in the tensor's own units: int8 codes
for the int8 model (input code = 255 * value - 128), real numbers for the float ones.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from certification.tflm import builder
from certification.tflm.builder import DenseInt8Params, DenseLayerFloat

SENSOR_INPUTS = ("temperature", "vibration", "pressure", "current")
SENSOR_CLASSES = ("normal", "warning", "shutdown")

# Hidden units (inputs t, v, p, c): hot = relu(2t - 1), t, v, p, c, cool = relu(1 - t),
# shaking = relu(v + c - 1), low_pressure = relu(0.5 - p). Every path from temperature to
# "shutdown" has a non-negative weight product and every path to "normal" a non-positive one,
# which is what makes the monotonic invariants hold; "shutdown" >= 2.8 > 2.25 >= "warning",
# "normal" <= 0.9 whenever t > 0.8, which is what makes the implies invariant hold.
_HIDDEN = DenseLayerFloat(
    weights=(
        (2.0, 0.0, 0.0, 0.0),
        (1.0, 0.0, 0.0, 0.0),
        (0.0, 1.0, 0.0, 0.0),
        (0.0, 0.0, 1.0, 0.0),
        (0.0, 0.0, 0.0, 1.0),
        (-1.0, 0.0, 0.0, 0.0),
        (0.0, 1.0, 0.0, 1.0),
        (0.0, 0.0, -1.0, 0.0),
    ),
    bias=(-1.0, 0.0, 0.0, 0.0, 0.0, 1.0, -1.0, 0.5),
    relu=True,
)
_SCORES = DenseLayerFloat(
    weights=(
        (0.0, 0.0, -1.0, 0.0, -1.0, 2.0, 0.0, 0.0),
        (0.0, 0.0, 0.5, 0.5, 0.5, 0.0, 0.5, 0.5),
        (4.0, 0.5, 0.5, 0.0, 0.5, 0.0, 1.0, 0.0),
    ),
    bias=(0.5, 0.0, 0.0),
)
SENSOR_FLOAT_LAYERS = (_HIDDEN, _SCORES)


def _sensor_invariants(
    score_range: tuple[float, float], epsilon: float, delta: float, hot: float
) -> tuple[dict[str, Any], ...]:
    """The sensor classifier's claims, in the units of one build: its scores stay within
    ``score_range``; an ``epsilon`` nudge of every input moves a score by at most ``delta``;
    a temperature above ``hot`` means "shutdown"."""
    low, high = score_range
    return (
        {"kind": "output_range", "min": low, "max": high},
        {"kind": "finite"},
        {"kind": "deterministic"},
        {"kind": "monotonic", "input": 0, "output": 2, "direction": "increasing"},
        {"kind": "monotonic", "input": 0, "output": 0, "direction": "decreasing"},
        {"kind": "robust", "epsilon": epsilon, "delta": delta},
        {
            "kind": "implies",
            "name": "overheat-shutdown",
            "when": [{"input": 0, "op": "gt", "value": hot}],
            "then": {"argmax": 2},
        },
    )


# In real units, for the float model. Scores stay within [-1.5, 6.5]; a 0.01 nudge of every
# input moves a score by at most 0.115 (the largest row sum of |weights| along any path).
SENSOR_FLOAT_INVARIANTS = _sensor_invariants((-2.0, 8.0), epsilon=0.01, delta=0.5, hot=0.8)

# The same claims in int8 codes: temperature 0.8 is code 76; output codes are
# round(score / (10/255)) - 77; two input codes of noise (0.008) move a score by at most
# 2.3 codes plus rounding.
SENSOR_INT8_INVARIANTS = _sensor_invariants((-120, 100), epsilon=2, delta=6, hot=76)


@dataclass(frozen=True)
class SampleModel:
    """A model with the tensor description and invariants its manifest would declare."""

    name: str
    tflite: bytes
    input_range: tuple[float, float]
    input_dtype: str = "float32"
    output_dtype: str = "float32"
    input_shape: tuple[int, ...] = (1, 4)
    output_shape: tuple[int, ...] = (1, 1)
    invariants: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    violates: str | None = None

    def manifest_model(self, file: str = "model.tflite") -> dict[str, Any]:
        """The manifest's ``model`` object for this model."""
        return {
            "file": file,
            "format": "tflite",
            "input": {
                "shape": list(self.input_shape),
                "dtype": self.input_dtype,
                "range": list(self.input_range),
            },
            "output": {"shape": list(self.output_shape), "dtype": self.output_dtype},
        }


def _built(
    name: str,
    build: Callable[..., bytes],
    *args: Any,
    input_range: tuple[float, float] = (0.0, 1.0),
    **fields: Any,
) -> SampleModel:
    """The sample ``name``, its flatbuffer made by ``build(name, *args)``; ``fields`` as in
    :class:`SampleModel`. Inputs are normalized sensor values unless ``input_range`` says."""
    return SampleModel(name=name, tflite=build(name, *args), input_range=input_range, **fields)


def _temperature_gain(name: str, gain: float, invariant: dict[str, Any]) -> SampleModel:
    """A one-layer float regressor outputting ``gain`` * temperature, which breaks the one
    ``invariant`` it declares."""
    layer = DenseLayerFloat(weights=((gain, 0.0, 0.0, 0.0),), bias=(0.0,))
    return _built(
        name,
        builder.build_dense_float,
        [layer],
        invariants=(invariant,),
        violates=invariant["kind"],
    )


@cache
def sensor_classifier_params() -> DenseInt8Params:
    """The int8 parameters shared by the ``.tflite`` model and the fixture firmware."""
    return builder.quantize_dense(
        "sensor_classifier",
        input_range=(0.0, 1.0),
        layers=SENSOR_FLOAT_LAYERS,
        output_ranges=((0.0, 1.0), (-2.0, 8.0)),
    )


def sensor_classifier() -> SampleModel:
    return SampleModel(
        name="sensor_classifier",
        tflite=builder.build_dense_int8(sensor_classifier_params()),
        input_range=(-128, 127),
        input_dtype="int8",
        output_dtype="int8",
        output_shape=(1, 3),
        invariants=SENSOR_INT8_INVARIANTS,
    )


def sensor_classifier_float() -> SampleModel:
    """The same network in float32, before quantization; as well behaved."""
    return _built(
        "sensor_classifier_float",
        builder.build_dense_float,
        SENSOR_FLOAT_LAYERS,
        output_shape=(1, 3),
        invariants=SENSOR_FLOAT_INVARIANTS,
    )


def violates_output_range() -> SampleModel:
    """A regressor declared to stay in [0, 1] that outputs 3 * temperature."""
    return _temperature_gain(
        "overdriven_regressor", 3.0, {"kind": "output_range", "min": 0.0, "max": 1.0}
    )


def violates_finite() -> SampleModel:
    """log(temperature - vibration): NaN or -Inf whenever vibration >= temperature."""
    layer = DenseLayerFloat(weights=((1.0, -1.0, 0.0, 0.0),), bias=(0.0,))
    return _built(
        "log_of_difference",
        builder.build_dense_then_log,
        layer,
        invariants=({"kind": "finite"},),
        violates="finite",
    )


def violates_deterministic() -> SampleModel:
    """A regressor with hidden state: every invoke adds 0.25 to its output."""
    layer = DenseLayerFloat(weights=((0.5, 0.5, 0.0, 0.0),), bias=(0.0,))
    return _built(
        "drifting_regressor",
        builder.build_stateful_counter,
        layer,
        0.25,  # added to the output on every invoke
        invariants=({"kind": "deterministic"},),
        violates="deterministic",
    )


def violates_monotonic() -> SampleModel:
    """x squared on [-1, 1], declared increasing in input 0."""
    return _built(
        "squarer",
        builder.build_square,
        4,
        input_range=(-1.0, 1.0),
        output_shape=(1, 4),
        invariants=({"kind": "monotonic", "input": 0, "output": 0, "direction": "increasing"},),
        violates="monotonic",
    )


def violates_robust() -> SampleModel:
    """A gain of 1000 on temperature: a 0.01 nudge moves the output by 10."""
    return _temperature_gain(
        "twitchy_regressor", 1000.0, {"kind": "robust", "epsilon": 0.01, "delta": 0.5}
    )


def violates_implies() -> SampleModel:
    """The sensor classifier with its temperature paths to "shutdown" cut."""
    scores = DenseLayerFloat(
        weights=(_SCORES.weights[0], _SCORES.weights[1], (0.0, 0.0, 0.5, 0.0, 0.5, 0.0, 1.0, 0.0)),
        bias=_SCORES.bias,
    )
    return _built(
        "deaf_classifier",
        builder.build_dense_float,
        [_HIDDEN, scores],
        output_shape=(1, 3),
        invariants=(SENSOR_FLOAT_INVARIANTS[-1],),
        violates="implies",
    )


def endless_loop() -> SampleModel:
    """A WHILE loop that never ends: invoke hangs."""
    return _built(
        "endless_loop",
        builder.build_endless_while,
        4,
        output_shape=(1, 4),
        invariants=({"kind": "finite"},),
    )


def arena_hog(rows: int = 1 << 22) -> SampleModel:
    """A 1 KB model whose tensor arena needs ``rows * 16`` bytes (64 MiB by default)."""
    return _built("arena_hog", builder.build_broadcast_sum, 4, rows, output_shape=(1, 4))


def unsupported_op() -> SampleModel:
    """A valid TFLite model TFLM cannot run: it uses TILE."""
    return _built("unsupported_op", builder.build_tile, 4, output_shape=(2, 4))


def oversized_tensor() -> SampleModel:
    """A model declaring a 4 GiB tensor; TFLM's 32-bit size arithmetic would overflow."""
    return _built(
        "oversized_tensor", builder.build_oversized_tensor, 4, output_shape=(1 << 16, 1 << 14)
    )


def truncated() -> SampleModel:
    """The sensor classifier cut in half: not a flatbuffer any more."""
    whole = sensor_classifier().tflite
    return dataclasses.replace(
        sensor_classifier(), name="truncated", tflite=whole[: len(whole) // 2]
    )


VIOLATORS = {
    "output_range": violates_output_range,
    "finite": violates_finite,
    "deterministic": violates_deterministic,
    "monotonic": violates_monotonic,
    "robust": violates_robust,
    "implies": violates_implies,
}
