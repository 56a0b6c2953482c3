"""Structural checks and a plain description of a ``.tflite`` flatbuffer.

TFLite Micro trusts its input: it has no flatbuffer verifier, so an out-of-range tensor or
buffer index reads arbitrary memory and a tensor whose byte size overflows 32 bits corrupts
the heap. :func:`check_structure` rejects such files before TFLM sees them. It parses
untrusted bytes, so it runs only inside the sandbox child, under its CPU and memory limits.

:func:`describe_graph` flattens the graph into JSON-friendly dataclasses (operators with
their tensors' shapes and dtypes) that the parent uses for op-set checks and MAC counting
without touching the flatbuffer itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

TFLITE_IDENTIFIER = b"TFL3"
SCHEMA_VERSION = 3
# TFLM sizes tensors with 32-bit arithmetic; nothing this big fits a microcontroller anyway.
MAX_TENSOR_BYTES = (1 << 31) - 1

# Bytes per element; types absent here (STRING, RESOURCE, VARIANT, sub-byte types) carry no
# fixed-size payload we can check.
_ELEMENT_BYTES = {
    schema.TensorType.FLOAT32: 4,
    schema.TensorType.FLOAT16: 2,
    schema.TensorType.INT32: 4,
    schema.TensorType.UINT8: 1,
    schema.TensorType.INT64: 8,
    schema.TensorType.BOOL: 1,
    schema.TensorType.INT16: 2,
    schema.TensorType.COMPLEX64: 8,
    schema.TensorType.INT8: 1,
    schema.TensorType.FLOAT64: 8,
    schema.TensorType.COMPLEX128: 16,
    schema.TensorType.UINT64: 8,
    schema.TensorType.UINT32: 4,
    schema.TensorType.UINT16: 2,
    schema.TensorType.BFLOAT16: 2,
}

_OPERATOR_NAMES = {
    value: name for name, value in vars(schema.BuiltinOperator).items() if not name.startswith("_")
}
_TYPE_NAMES = {
    value: name.lower()
    for name, value in vars(schema.TensorType).items()
    if not name.startswith("_")
}


class InvalidModel(Exception):
    """The bytes are not a well-formed TFLite model TFLM can safely load."""


@dataclass(frozen=True)
class TensorInfo:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str
    is_constant: bool


@dataclass(frozen=True)
class OperatorInfo:
    subgraph: int
    index: int
    opcode: str
    inputs: tuple[TensorInfo | None, ...]
    outputs: tuple[TensorInfo, ...]


@dataclass(frozen=True)
class GraphInfo:
    subgraph_count: int
    operators: tuple[OperatorInfo, ...]

    @property
    def op_set(self) -> tuple[str, ...]:
        return tuple(sorted({op.opcode for op in self.operators}))


def parse(model: bytes) -> schema.ModelT:
    """Unpack the flatbuffer, turning every parse failure into :class:`InvalidModel`."""
    if len(model) < 8:
        raise InvalidModel("file is too short to be a TFLite flatbuffer")
    if model[4:8] != TFLITE_IDENTIFIER:
        raise InvalidModel("missing the TFL3 file identifier")
    try:
        return schema.ModelT.InitFromPackedBuf(model, 0)
    except Exception as exc:  # the generated reader fails with struct/Index/Value errors
        reason = f"{type(exc).__module__}.{type(exc).__name__}: {exc}"[:200]
        raise InvalidModel(f"flatbuffer does not parse ({reason})") from exc


def _opcode_name(code: schema.OperatorCodeT) -> str:
    builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
    if builtin == schema.BuiltinOperator.CUSTOM:
        custom = code.customCode.decode() if isinstance(code.customCode, bytes) else code.customCode
        return f"CUSTOM:{custom}"
    return _OPERATOR_NAMES.get(builtin, f"UNKNOWN_{builtin}")


def _shape(tensor: schema.TensorT) -> tuple[int, ...]:
    return tuple(int(d) for d in tensor.shape) if tensor.shape is not None else ()


def _reject_bad_header(model: schema.ModelT) -> None:
    if model.version != SCHEMA_VERSION:
        raise InvalidModel(f"schema version {model.version}, expected {SCHEMA_VERSION}")
    if not model.subgraphs:
        raise InvalidModel("model has no subgraph")
    if not model.buffers:
        raise InvalidModel("model has no buffer table")


def _reject_external_buffers(model: schema.ModelT) -> None:
    for index, buffer in enumerate(model.buffers):
        if buffer is None or buffer.offset or buffer.size:
            raise InvalidModel(f"buffer {index} is stored outside the flatbuffer")


def _reject_bad_tensor(model: schema.ModelT, sg: int, index: int, tensor: schema.TensorT) -> None:
    if tensor is None:
        raise InvalidModel(f"subgraph {sg} tensor {index} is missing")
    shape = _shape(tensor)
    if any(d < 0 for d in shape):
        raise InvalidModel(f"subgraph {sg} tensor {index} has a dynamic or negative shape")
    if not 0 <= tensor.buffer < len(model.buffers):
        raise InvalidModel(f"subgraph {sg} tensor {index} names buffer {tensor.buffer}")
    element_bytes = _ELEMENT_BYTES.get(tensor.type)
    if element_bytes is None:
        return
    size = element_bytes
    for dim in shape:
        size *= dim
    if size > MAX_TENSOR_BYTES:
        raise InvalidModel(f"subgraph {sg} tensor {index} needs {size} bytes")
    data = model.buffers[tensor.buffer].data
    if tensor.buffer and data is not None and len(data) and len(data) != size:
        raise InvalidModel(
            f"subgraph {sg} tensor {index} holds {len(data)} bytes, its shape needs {size}"
        )


def _reject_bad_indices(what: str, indices: object, count: int, optional: bool = False) -> None:
    lowest = -1 if optional else 0
    for i in indices if indices is not None else []:
        if not lowest <= int(i) < count:
            raise InvalidModel(f"{what} refers to tensor {int(i)} of {count}")


def _reject_bad_subgraph_reference(model: schema.ModelT, sg: int, op: schema.OperatorT) -> None:
    options = op.builtinOptions
    referenced = [
        getattr(options, name, None)
        for name in (
            "condSubgraphIndex",
            "bodySubgraphIndex",
            "thenSubgraphIndex",
            "elseSubgraphIndex",
            "initSubgraphIndex",
        )
    ]
    for target in referenced:
        if target is not None and not 0 <= target < len(model.subgraphs):
            raise InvalidModel(f"an operator in subgraph {sg} calls missing subgraph {target}")


def check_structure(model: schema.ModelT) -> None:
    """Raise :class:`InvalidModel` unless every index and size in the model is in range."""
    _reject_bad_header(model)
    _reject_external_buffers(model)
    opcode_count = len(model.operatorCodes or [])
    for sg, subgraph in enumerate(model.subgraphs):
        if subgraph is None:
            raise InvalidModel(f"subgraph {sg} is missing")
        tensors = subgraph.tensors or []
        for index, tensor in enumerate(tensors):
            _reject_bad_tensor(model, sg, index, tensor)
        _reject_bad_indices(f"subgraph {sg} inputs", subgraph.inputs, len(tensors))
        _reject_bad_indices(f"subgraph {sg} outputs", subgraph.outputs, len(tensors))
        for index, op in enumerate(subgraph.operators or []):
            if op is None or not 0 <= op.opcodeIndex < opcode_count:
                raise InvalidModel(f"subgraph {sg} operator {index} has no valid opcode")
            where = f"subgraph {sg} operator {index}"
            _reject_bad_indices(f"{where} inputs", op.inputs, len(tensors), optional=True)
            _reject_bad_indices(f"{where} outputs", op.outputs, len(tensors))
            _reject_bad_indices(f"{where} intermediates", op.intermediates, len(tensors))
            _reject_bad_subgraph_reference(model, sg, op)
    main = model.subgraphs[0]
    if not len(main.inputs if main.inputs is not None else []) or not len(
        main.outputs if main.outputs is not None else []
    ):
        raise InvalidModel("the main subgraph declares no inputs or no outputs")


def _tensor_info(model: schema.ModelT, subgraph: schema.SubGraphT, index: int) -> TensorInfo:
    tensor = subgraph.tensors[index]
    name = tensor.name.decode() if isinstance(tensor.name, bytes) else (tensor.name or "")
    data = model.buffers[tensor.buffer].data
    return TensorInfo(
        index=index,
        name=name,
        shape=_shape(tensor),
        dtype=_TYPE_NAMES.get(tensor.type, str(tensor.type)),
        is_constant=bool(tensor.buffer and data is not None and len(data)),
    )


def describe_graph(model: schema.ModelT) -> GraphInfo:
    """Every operator of every subgraph, with its tensors; call after :func:`check_structure`."""
    operators = []
    for sg, subgraph in enumerate(model.subgraphs):
        for index, op in enumerate(subgraph.operators or []):
            inputs = tuple(
                None if int(i) < 0 else _tensor_info(model, subgraph, int(i))
                for i in (op.inputs if op.inputs is not None else [])
            )
            outputs = tuple(
                _tensor_info(model, subgraph, int(i))
                for i in (op.outputs if op.outputs is not None else [])
            )
            operators.append(
                OperatorInfo(
                    subgraph=sg,
                    index=index,
                    opcode=_opcode_name(model.operatorCodes[op.opcodeIndex]),
                    inputs=inputs,
                    outputs=outputs,
                )
            )
    return GraphInfo(subgraph_count=len(model.subgraphs), operators=tuple(operators))
