"""Build small ``.tflite`` models in Python, without TensorFlow.

Models are assembled with the model editor that ships inside the pinned ``tflite-micro``
wheel (``tflite_micro.tensorflow.lite.micro.compression.model_editor``, which writes the
TFLite flatbuffer schema with the wheel's own ``schema_py_generated``). Building never runs a
model; running one is the sandbox's job.

The int8 dense network is described by :class:`DenseInt8Params`, the single source for both
the ``.tflite`` file (:func:`build_dense_int8`) and the C header that fixture firmware compiles
(:func:`to_c_header`), so the firmware and TFLM compute the very same integers.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from tflite_micro.tensorflow.lite.micro.compression import model_editor
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from certification.tflm import quantized

_T = schema.TensorType
_OP = schema.BuiltinOperator
_ACT = schema.ActivationFunctionType


def float32(value: float) -> float:
    """Round a Python float to the nearest float32, as the flatbuffer stores scales."""
    return struct.unpack("<f", struct.pack("<f", value))[0]


# ---------------------------------------------------------------------------------------------
# Graph assembly


class _Graph:
    """One subgraph under construction: tensors are made as operators are appended."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.operators: list[model_editor.Operator] = []

    @staticmethod
    def tensor(
        shape: Sequence[int],
        dtype: int = _T.FLOAT32,
        data: np.ndarray | None = None,
        quantization: model_editor.Quantization | None = None,
        name: str | None = None,
    ) -> model_editor.Tensor:
        return model_editor.Tensor(
            shape=tuple(shape), dtype=dtype, data=data, quantization=quantization, name=name
        )

    @classmethod
    def const(cls, array: np.ndarray, dtype: int, name: str) -> model_editor.Tensor:
        return cls.tensor(array.shape, dtype, data=array, name=name)

    def op(
        self,
        opcode: int,
        inputs: Sequence[model_editor.Tensor | None],
        outputs: Sequence[model_editor.Tensor],
        options: object | None = None,
    ) -> None:
        operator = model_editor.Operator(opcode=opcode, inputs=list(inputs), outputs=list(outputs))
        if options is not None:
            # Every generated options class is named like its BuiltinOptions member plus "T".
            operator._fb.builtinOptionsType = getattr(
                schema.BuiltinOptions, type(options).__name__[:-1]
            )
            operator._fb.builtinOptions = options
        self.operators.append(operator)

    def subgraph(
        self, inputs: Sequence[model_editor.Tensor], outputs: Sequence[model_editor.Tensor]
    ) -> model_editor.Subgraph:
        return model_editor.Subgraph(
            operators=self.operators, inputs=list(inputs), outputs=list(outputs), name=self.name
        )


def _finish(subgraphs: Sequence[model_editor.Subgraph], description: str) -> bytes:
    return bytes(model_editor.Model(subgraphs=list(subgraphs), description=description).build())


def _fc_options(relu: bool) -> schema.FullyConnectedOptionsT:
    options = schema.FullyConnectedOptionsT()
    options.fusedActivationFunction = _ACT.RELU if relu else _ACT.NONE
    return options


def _add_options() -> schema.AddOptionsT:
    return schema.AddOptionsT()


# ---------------------------------------------------------------------------------------------
# int8 dense networks


@dataclass(frozen=True)
class DenseLayerInt8:
    """One int8 FULLY_CONNECTED layer with per-tensor symmetric weights.

    ``weights[o][i]`` are int8, ``bias[o]`` int32 at scale ``input_scale * weight_scale`` and
    zero point 0, exactly as the TFLite converter emits them.
    """

    weights: tuple[tuple[int, ...], ...]
    bias: tuple[int, ...]
    weight_scale: float
    output_scale: float
    output_zero_point: int
    relu: bool


@dataclass(frozen=True)
class LayerArithmetic:
    """The integers TFLM's int8 FullyConnected kernel derives for a layer in Prepare."""

    input_zero_point: int
    output_multiplier: int
    output_shift: int
    output_zero_point: int
    activation_min: int
    activation_max: int


@dataclass(frozen=True)
class DenseInt8Params:
    """A fully integer (int8 in, int8 out) multilayer perceptron."""

    name: str
    input_scale: float
    input_zero_point: int
    layers: tuple[DenseLayerInt8, ...]

    @property
    def input_size(self) -> int:
        return len(self.layers[0].weights[0])

    @property
    def output_size(self) -> int:
        return len(self.layers[-1].weights)

    @property
    def output_scale(self) -> float:
        return self.layers[-1].output_scale

    @property
    def output_zero_point(self) -> int:
        return self.layers[-1].output_zero_point

    def layer_input_quantization(self, index: int) -> tuple[float, int]:
        """(scale, zero point) of the tensor that layer ``index`` reads."""
        if index == 0:
            return self.input_scale, self.input_zero_point
        previous = self.layers[index - 1]
        return previous.output_scale, previous.output_zero_point

    def arithmetic(self) -> list[LayerArithmetic]:
        """Each layer's multiplier, shift and clamp, computed as TFLM's Prepare does."""
        result = []
        for index, layer in enumerate(self.layers):
            in_scale, in_zero_point = self.layer_input_quantization(index)
            # TFLM reads the scales as float32 and forms the ratio in double precision.
            real_multiplier = (float32(in_scale) * float32(layer.weight_scale)) / float32(
                layer.output_scale
            )
            multiplier, shift = quantized.quantize_multiplier(real_multiplier)
            if layer.relu:
                act_min, act_max = quantized.relu_activation_range(
                    layer.output_zero_point, float32(layer.output_scale)
                )
            else:
                act_min, act_max = quantized.INT8_MIN, quantized.INT8_MAX
            result.append(
                LayerArithmetic(
                    input_zero_point=in_zero_point,
                    output_multiplier=multiplier,
                    output_shift=shift,
                    output_zero_point=layer.output_zero_point,
                    activation_min=act_min,
                    activation_max=act_max,
                )
            )
        return result

    def quantize_input(self, values: Sequence[float]) -> list[int]:
        """Real input values to the int8 codes the model reads."""
        return [
            quantized.quantize_value(v, float32(self.input_scale), self.input_zero_point, -128, 127)
            for v in values
        ]

    def dequantize_output(self, codes: Sequence[int]) -> list[float]:
        scale = float32(self.output_scale)
        return [(c - self.output_zero_point) * scale for c in codes]

    def infer(self, input_codes: Sequence[int]) -> list[int]:
        """Reference int8 inference in pure Python, bit-exact with TFLM's reference kernels."""
        values = list(input_codes)
        for layer, arithmetic in zip(self.layers, self.arithmetic(), strict=True):
            values = quantized.fully_connected_int8(
                values, layer.weights, layer.bias, **asdict(arithmetic)
            )
        return values


@dataclass(frozen=True)
class DenseLayerFloat:
    """A float FULLY_CONNECTED layer; ``weights[o][i]``."""

    weights: tuple[tuple[float, ...], ...]
    bias: tuple[float, ...]
    relu: bool = False


def _range_quantization(low: float, high: float) -> tuple[float, int]:
    """Asymmetric int8 (scale, zero point) covering [low, high], which must include 0."""
    scale = float32((high - low) / 255.0)
    zero_point = quantized.quantize_value(-low, scale, -128, -128, 127)
    return scale, zero_point


def quantize_dense(
    name: str,
    input_range: tuple[float, float],
    layers: Sequence[DenseLayerFloat],
    output_ranges: Sequence[tuple[float, float]],
) -> DenseInt8Params:
    """Post-training quantization of a float MLP, as the TFLite converter does it.

    ``output_ranges[k]`` is the calibrated real range of layer ``k``'s output.
    """
    input_scale, input_zero_point = _range_quantization(*input_range)
    quantized_layers = []
    in_scale = input_scale
    for layer, (low, high) in zip(layers, output_ranges, strict=True):
        w = np.asarray(layer.weights, dtype=np.float64)
        weight_scale = float32(float(np.max(np.abs(w))) / 127.0)
        q_weights = tuple(
            tuple(quantized.quantize_value(v, weight_scale, 0, -127, 127) for v in row)
            for row in w.tolist()
        )
        bias_scale = float32(in_scale) * weight_scale
        q_bias = tuple(
            quantized.quantize_value(b, bias_scale, 0, quantized.INT32_MIN, quantized.INT32_MAX)
            for b in layer.bias
        )
        out_scale, out_zero_point = _range_quantization(low, high)
        quantized_layers.append(
            DenseLayerInt8(
                weights=q_weights,
                bias=q_bias,
                weight_scale=weight_scale,
                output_scale=out_scale,
                output_zero_point=out_zero_point,
                relu=layer.relu,
            )
        )
        in_scale = out_scale
    return DenseInt8Params(
        name=name,
        input_scale=input_scale,
        input_zero_point=input_zero_point,
        layers=tuple(quantized_layers),
    )


def build_dense_int8(params: DenseInt8Params) -> bytes:
    """The ``.tflite`` flatbuffer for ``params``: int8 [1, in] -> FC ... FC -> int8 [1, out]."""
    graph = _Graph(params.name)
    model_input = graph.tensor(
        (1, params.input_size),
        _T.INT8,
        quantization=model_editor.Quantization(
            float32(params.input_scale), params.input_zero_point
        ),
        name="input",
    )
    current = model_input
    for index, layer in enumerate(params.layers):
        in_scale, _ = params.layer_input_quantization(index)
        weights = graph.tensor(
            (len(layer.weights), len(layer.weights[0])),
            _T.INT8,
            data=np.asarray(layer.weights, dtype=np.int8),
            quantization=model_editor.Quantization(float32(layer.weight_scale), 0),
            name=f"dense_{index}/weights",
        )
        bias = graph.tensor(
            (len(layer.bias),),
            _T.INT32,
            data=np.asarray(layer.bias, dtype=np.int32),
            quantization=model_editor.Quantization(
                float32(float32(in_scale) * float32(layer.weight_scale)), 0
            ),
            name=f"dense_{index}/bias",
        )
        is_last = index == len(params.layers) - 1
        output = graph.tensor(
            (1, len(layer.weights)),
            _T.INT8,
            quantization=model_editor.Quantization(
                float32(layer.output_scale), layer.output_zero_point
            ),
            name="output" if is_last else f"dense_{index}/output",
        )
        graph.op(_OP.FULLY_CONNECTED, [current, weights, bias], [output], _fc_options(layer.relu))
        current = output
    return _finish([graph.subgraph([model_input], [current])], params.name)


def build_dense_float(name: str, layers: Sequence[DenseLayerFloat]) -> bytes:
    """A float32 MLP: float [1, in] -> FC ... FC -> float [1, out]."""
    graph = _Graph(name)
    model_input = graph.tensor((1, len(layers[0].weights[0])), name="input")
    current = _dense_float_layers(graph, model_input, layers)
    return _finish([graph.subgraph([model_input], [current])], name)


def _dense_float_layers(
    graph: _Graph, current: model_editor.Tensor, layers: Sequence[DenseLayerFloat]
) -> model_editor.Tensor:
    for index, layer in enumerate(layers):
        weights = graph.const(
            np.asarray(layer.weights, dtype=np.float32), _T.FLOAT32, f"dense_{index}/weights"
        )
        bias = graph.const(
            np.asarray(layer.bias, dtype=np.float32), _T.FLOAT32, f"dense_{index}/bias"
        )
        output = graph.tensor((1, len(layer.weights)), name=f"dense_{index}/output")
        graph.op(_OP.FULLY_CONNECTED, [current, weights, bias], [output], _fc_options(layer.relu))
        current = output
    return current


# ---------------------------------------------------------------------------------------------
# Models that break one property each


def build_dense_then_log(name: str, layer: DenseLayerFloat) -> bytes:
    """LOG(FC(x)): NaN or -Inf wherever the dense output is not positive."""
    graph = _Graph(name)
    model_input = graph.tensor((1, len(layer.weights[0])), name="input")
    dense = _dense_float_layers(graph, model_input, [layer])
    output = graph.tensor(dense.shape, name="output")
    graph.op(_OP.LOG, [dense], [output])
    return _finish([graph.subgraph([model_input], [output])], name)


def build_square(name: str, size: int) -> bytes:
    """MUL(x, x): each output is its input squared, so not monotonic across zero."""
    graph = _Graph(name)
    model_input = graph.tensor((1, size), name="input")
    output = graph.tensor((1, size), name="output")
    graph.op(_OP.MUL, [model_input, model_input], [output], schema.MulOptionsT())
    return _finish([graph.subgraph([model_input], [output])], name)


def build_stateful_counter(name: str, layer: DenseLayerFloat, step: float) -> bytes:
    """FC(x) plus a resource variable that grows by ``step`` on every invoke.

    The same input gives a different output on each call: TFLM keeps resource variables
    across invocations, the way a model with hidden state on a device does.
    """
    graph = _Graph(name)
    model_input = graph.tensor((1, len(layer.weights[0])), name="input")
    dense = _dense_float_layers(graph, model_input, [layer])
    handle = graph.tensor((), _T.RESOURCE, name="counter_handle")
    state = graph.tensor(dense.shape, name="counter")
    increment = graph.const(np.full(dense.shape, step, dtype=np.float32), _T.FLOAT32, "step")
    updated = graph.tensor(dense.shape, name="counter_next")
    output = graph.tensor(dense.shape, name="output")
    handle_options = schema.VarHandleOptionsT()
    handle_options.sharedName = "counter"
    graph.op(_OP.VAR_HANDLE, [], [handle], handle_options)
    graph.op(_OP.READ_VARIABLE, [handle], [state])
    graph.op(_OP.ADD, [state, increment], [updated], _add_options())
    graph.op(_OP.ASSIGN_VARIABLE, [handle, updated], [])
    graph.op(_OP.ADD, [dense, updated], [output], _add_options())
    return _finish([graph.subgraph([model_input], [output])], name)


def build_endless_while(name: str, size: int) -> bytes:
    """A WHILE whose condition (x >= x) holds for every non-NaN input: invoke never returns."""
    main = _Graph(name)
    model_input = main.tensor((1, size), name="input")
    output = main.tensor((1, size), name="output")
    while_options = schema.WhileOptionsT()
    while_options.condSubgraphIndex = 1
    while_options.bodySubgraphIndex = 2
    main.op(_OP.WHILE, [model_input], [output], while_options)

    cond = _Graph("cond")
    cond_in = cond.tensor((1, size), name="cond_input")
    cond_out = cond.tensor((), _T.BOOL, name="cond_output")
    cond.op(_OP.GREATER_EQUAL, [cond_in, cond_in], [cond_out])

    body = _Graph("body")
    body_in = body.tensor((1, size), name="body_input")
    zero = body.const(np.zeros((1, size), dtype=np.float32), _T.FLOAT32, "zero")
    body_out = body.tensor((1, size), name="body_output")
    body.op(_OP.ADD, [body_in, zero], [body_out], _add_options())

    return _finish(
        [
            main.subgraph([model_input], [output]),
            cond.subgraph([cond_in], [cond_out]),
            body.subgraph([body_in], [body_out]),
        ],
        name,
    )


def build_broadcast_sum(name: str, size: int, rows: int) -> bytes:
    """SUM over a BROADCAST_TO([rows, size]) of the input: the arena must hold rows*size floats.

    Tiny file, tiny input and output, arbitrarily large working memory.
    """
    graph = _Graph(name)
    model_input = graph.tensor((1, size), name="input")
    shape = graph.const(np.asarray([rows, size], dtype=np.int32), _T.INT32, "broadcast_shape")
    wide = graph.tensor((rows, size), name="broadcast")
    graph.op(_OP.BROADCAST_TO, [model_input, shape], [wide], schema.BroadcastToOptionsT())
    axis = graph.const(np.asarray([0], dtype=np.int32), _T.INT32, "axis")
    output = graph.tensor((1, size), name="output")
    reducer = schema.ReducerOptionsT()
    reducer.keepDims = True
    graph.op(_OP.SUM, [wide, axis], [output], reducer)
    return _finish([graph.subgraph([model_input], [output])], name)


def build_tile(name: str, size: int) -> bytes:
    """TILE, a builtin TFLite op that TFLM's op resolver does not provide."""
    graph = _Graph(name)
    model_input = graph.tensor((1, size), name="input")
    multiples = graph.const(np.asarray([2, 1], dtype=np.int32), _T.INT32, "multiples")
    output = graph.tensor((2, size), name="output")
    graph.op(_OP.TILE, [model_input, multiples], [output])
    return _finish([graph.subgraph([model_input], [output])], name)


def build_oversized_tensor(name: str, size: int) -> bytes:
    """An FC whose declared output holds 2**32 bytes.

    TFLM computes tensor byte sizes in 32 bits with no flatbuffer verifier, so without the
    sandbox's structural check this wraps to a tiny allocation and corrupts the heap.
    """
    graph = _Graph(name)
    model_input = graph.tensor((1, size), name="input")
    weights = graph.const(np.ones((1, size), dtype=np.float32), _T.FLOAT32, "weights")
    output = graph.tensor((1 << 16, 1 << 14), name="output")
    graph.op(_OP.FULLY_CONNECTED, [model_input, weights, None], [output], _fc_options(False))
    return _finish([graph.subgraph([model_input], [output])], name)


# ---------------------------------------------------------------------------------------------
# C export


def _c_array(c_type: str, name: str, values: Sequence[int], per_line: int = 16) -> str:
    lines = []
    for start in range(0, len(values), per_line):
        lines.append("    " + ", ".join(str(v) for v in values[start : start + per_line]) + ",")
    body = "\n".join(lines)
    return f"static const {c_type} {name}[{len(values)}] = {{\n{body}\n}};"


_C_ARITHMETIC = r"""
/* TFLM's int8 arithmetic (reference kernels, double rounding; see
 * tensorflow/lite/kernels/internal/common.h). Requires arithmetic right shift of negative
 * int32 values, which GCC and Clang for Arm guarantee. */
static inline int32_t ep_srdhm(int32_t a, int32_t b)
{
    if (a == b && a == INT32_MIN) {
        return INT32_MAX;
    }
    int64_t ab = (int64_t)a * (int64_t)b;
    int32_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

static inline int32_t ep_rounding_divide_by_pot(int32_t x, int exponent)
{
    int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    int32_t remainder = x & mask;
    int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

static inline int32_t ep_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int shift)
{
    int left_shift = shift > 0 ? shift : 0;
    int right_shift = shift > 0 ? 0 : -shift;
    return ep_rounding_divide_by_pot(
        ep_srdhm((int32_t)((uint32_t)x << left_shift), multiplier), right_shift);
}

/* reference_integer_ops::FullyConnected for one row, symmetric int8 weights. */
static inline void ep_fully_connected_int8(
    const int8_t *input, int in_size, const int8_t *weights, const int32_t *bias,
    int out_size, int32_t input_zero_point, int32_t multiplier, int shift,
    int32_t output_zero_point, int32_t act_min, int32_t act_max, int8_t *output)
{
    for (int o = 0; o < out_size; ++o) {
        int32_t acc = 0;
        for (int i = 0; i < in_size; ++i) {
            acc += (int32_t)weights[o * in_size + i] * ((int32_t)input[i] - input_zero_point);
        }
        acc += bias[o];
        acc = ep_multiply_by_quantized_multiplier(acc, multiplier, shift);
        acc += output_zero_point;
        if (acc < act_min) {
            acc = act_min;
        }
        if (acc > act_max) {
            acc = act_max;
        }
        output[o] = (int8_t)acc;
    }
}
"""


def to_c_header(params: DenseInt8Params, prefix: str = "EP_MODEL") -> str:
    """A self-contained C99 header reproducing ``params``' inference bit for bit.

    It defines the weights, biases and per-layer TFLM arithmetic constants, the fixed-point
    helpers, and ``<prefix lowercased>_infer(const int8_t *in, int8_t *out)``.
    """
    guard = f"{prefix}_H"
    fn = prefix.lower()
    arithmetic = params.arithmetic()
    widest = max(len(layer.weights) for layer in params.layers)
    parts = [
        f"/* Generated by certification.tflm.builder.to_c_header for model {params.name!r}. */",
        f"#ifndef {guard}",
        f"#define {guard}",
        "",
        "#include <stdint.h>",
        "",
        f"#define {prefix}_INPUT_SIZE {params.input_size}",
        f"#define {prefix}_OUTPUT_SIZE {params.output_size}",
        f"#define {prefix}_LAYER_COUNT {len(params.layers)}",
        f"/* real = scale * (code - zero_point); input scale {float32(params.input_scale)!r}. */",
        f"#define {prefix}_INPUT_ZERO_POINT {params.input_zero_point}",
        f"/* output scale {float32(params.output_scale)!r} */",
        f"#define {prefix}_OUTPUT_ZERO_POINT {params.output_zero_point}",
        _C_ARITHMETIC,
    ]
    for index, (layer, arith) in enumerate(zip(params.layers, arithmetic, strict=True)):
        upper = f"{prefix}_L{index}"
        flat = [w for row in layer.weights for w in row]
        parts += [
            f"/* layer {index}: {len(layer.weights[0])} -> {len(layer.weights)}, "
            f"{'relu' if layer.relu else 'no activation'}; weight scale "
            f"{float32(layer.weight_scale)!r}, output scale {float32(layer.output_scale)!r} */",
            f"#define {upper}_IN {len(layer.weights[0])}",
            f"#define {upper}_OUT {len(layer.weights)}",
            f"#define {upper}_INPUT_ZERO_POINT {arith.input_zero_point}",
            f"#define {upper}_MULTIPLIER {arith.output_multiplier}",
            f"#define {upper}_SHIFT {arith.output_shift}",
            f"#define {upper}_OUTPUT_ZERO_POINT {arith.output_zero_point}",
            f"#define {upper}_ACT_MIN {arith.activation_min}",
            f"#define {upper}_ACT_MAX {arith.activation_max}",
            _c_array("int8_t", f"{fn}_l{index}_weights", flat),
            _c_array("int32_t", f"{fn}_l{index}_bias", list(layer.bias)),
            "",
        ]
    body = [
        f"static inline void {fn}_infer(const int8_t *input, int8_t *output)",
        "{",
        f"    int8_t buffers[2][{widest}];",
        "    const int8_t *current = input;",
    ]
    for index in range(len(params.layers)):
        upper = f"{prefix}_L{index}"
        last = index == len(params.layers) - 1
        target = "output" if last else f"buffers[{index % 2}]"
        body += [
            f"    ep_fully_connected_int8(current, {upper}_IN, {fn}_l{index}_weights, "
            f"{fn}_l{index}_bias, {upper}_OUT,",
            f"        {upper}_INPUT_ZERO_POINT, {upper}_MULTIPLIER, {upper}_SHIFT, "
            f"{upper}_OUTPUT_ZERO_POINT,",
            f"        {upper}_ACT_MIN, {upper}_ACT_MAX, {target});",
        ]
        if not last:
            body.append(f"    current = buffers[{index % 2}];")
    if len(params.layers) == 1:
        body.append("    (void)buffers;")
    body += ["}", "", f"#endif /* {guard} */", ""]
    return "\n".join(parts + body)
