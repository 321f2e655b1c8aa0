"""TensorProto <-> numpy, the gRPC side of the data path.

The common dtypes take a direct path (a request of a few strings decodes in microseconds); everything else goes
through `tf.make_ndarray` / `tf.make_tensor_proto`, whose rules (e.g. one value broadcast to the whole shape)
TF Serving clients rely on. Outputs are written as typed proto fields (`float_val`, `string_val`, ...) unless
`as_content` asks for `tensor_content`, mirroring `--enable_serialization_as_tensor_content`.
"""

from __future__ import annotations

import math
from typing import List

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2, types_pb2
from tensorflow_serving.apis import input_pb2

from serving.errors import InvalidArgument

_FIELDS = {
    types_pb2.DT_FLOAT: ("float_val", np.float32),
    types_pb2.DT_DOUBLE: ("double_val", np.float64),
    types_pb2.DT_INT32: ("int_val", np.int32),
    types_pb2.DT_INT64: ("int64_val", np.int64),
    types_pb2.DT_BOOL: ("bool_val", np.bool_),
}
_ENUM_BY_NUMPY = {np.dtype(numpy_type): enum for enum, (_, numpy_type) in _FIELDS.items()}
_UNSUPPORTED = {types_pb2.DT_INVALID, types_pb2.DT_RESOURCE, types_pb2.DT_VARIANT}


def to_ndarray(proto: tensor_pb2.TensorProto, name: str) -> np.ndarray:
    """Decodes one request tensor; `InvalidArgument` names the input on any inconsistency."""
    if proto.dtype in _UNSUPPORTED:
        raise InvalidArgument(f"input '{name}' has unsupported dtype {types_pb2.DataType.Name(proto.dtype)}")
    shape = [dim.size for dim in proto.tensor_shape.dim]
    if any(size < 0 for size in shape):
        raise InvalidArgument(f"input '{name}' has a negative dimension in shape {shape}")
    count = math.prod(shape)
    if proto.dtype == types_pb2.DT_STRING and not proto.tensor_content and len(proto.string_val) == count:
        array = np.empty(count, dtype=object)
        array[:] = list(proto.string_val)
        return array.reshape(shape)
    field = _FIELDS.get(proto.dtype)
    if field is not None:
        if proto.tensor_content:
            return _from_content(proto.tensor_content, field[1], shape, count, name)
        values = getattr(proto, field[0])
        if len(values) == count:
            return np.array(values, dtype=field[1]).reshape(shape)
    try:
        return tf.make_ndarray(proto)
    except (TypeError, ValueError, IndexError) as error:
        raise InvalidArgument(f"input '{name}' is not a valid TensorProto of shape {shape}: {error}") from None


def _from_content(content: bytes, numpy_type, shape, count: int, name: str) -> np.ndarray:
    itemsize = np.dtype(numpy_type).itemsize
    if len(content) != count * itemsize:
        raise InvalidArgument(f"input '{name}': tensor_content has {len(content)} bytes, shape {shape} of "
                              f"{np.dtype(numpy_type).name} needs {count * itemsize}")
    return np.frombuffer(content, dtype=numpy_type).reshape(shape)


def to_tensor_proto(array: np.ndarray, as_content: bool = False) -> tensor_pb2.TensorProto:
    """Encodes one output tensor."""
    proto = tensor_pb2.TensorProto()
    fill_tensor_proto(proto, array, as_content)
    return proto


def fill_tensor_proto(proto: tensor_pb2.TensorProto, array: np.ndarray, as_content: bool = False) -> None:
    """Encodes one output tensor into `proto` in place (a response map entry, saving a copy)."""
    if array.dtype == object or array.dtype.kind == "S":
        proto.dtype = types_pb2.DT_STRING
        proto.string_val.extend(array.ravel().tolist())
    else:
        enum = _ENUM_BY_NUMPY.get(array.dtype)
        if enum is None:
            proto.CopyFrom(tf.make_tensor_proto(array))
            return
        proto.dtype = enum
        if as_content:
            proto.tensor_content = np.ascontiguousarray(array).tobytes()
        else:
            getattr(proto, _FIELDS[enum][0]).extend(array.ravel().tolist())
    for size in array.shape:
        proto.tensor_shape.dim.add(size=size)


def examples_from_input(request_input: input_pb2.Input) -> List[bytes]:
    """Serialized tf.Examples of a Classify/Regress `Input`; a context is prepended to each, as upstream does
    (concatenated serializations parse as the merged message)."""
    kind = request_input.WhichOneof("kind")
    if kind == "example_list":
        return [example.SerializeToString() for example in request_input.example_list.examples]
    if kind == "example_list_with_context":
        with_context = request_input.example_list_with_context
        context = with_context.context.SerializeToString()
        return [context + example.SerializeToString() for example in with_context.examples]
    return []


def dtype_name(enum: int) -> str:
    """TF Serving's dtype spelling (`DT_STRING`), for messages."""
    return types_pb2.DataType.Name(enum)


def dtype_enum(array: np.ndarray) -> int:
    """The DataType of a decoded array (strings are `object` arrays)."""
    if array.dtype == object or array.dtype.kind == "S":
        return types_pb2.DT_STRING
    return tf.dtypes.as_dtype(array.dtype).as_datatype_enum
