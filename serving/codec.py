"""TensorProto <-> numpy, the gRPC side of the data path.

The common dtypes take a direct path (a request of a few strings decodes in microseconds); everything else goes
through `tf.make_ndarray` / `tf.make_tensor_proto`. A request tensor's shape is bounded (rank, element count)
before anything is built, and its values must number its elements, or be one value broadcast to the whole shape
(a tf.make_ndarray rule TF Serving clients rely on); make_ndarray's silent padding of a short list is refused.
Outputs are written as typed proto fields (`float_val`, `string_val`, ...) unless
`as_content` asks for `tensor_content`, mirroring `--enable_serialization_as_tensor_content`.
"""

from __future__ import annotations

import math
from typing import List

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2, types_pb2
from tensorflow_serving.apis import input_pb2

from serving.errors import InvalidArgument, ResourceExhausted

_FIELDS = {
    types_pb2.DT_FLOAT: ("float_val", np.float32),
    types_pb2.DT_DOUBLE: ("double_val", np.float64),
    types_pb2.DT_INT32: ("int_val", np.int32),
    types_pb2.DT_INT64: ("int64_val", np.int64),
    types_pb2.DT_BOOL: ("bool_val", np.bool_),
}
_ENUM_BY_NUMPY = {np.dtype(numpy_type): enum for enum, (_, numpy_type) in _FIELDS.items()}
# Where every other dtype that tf.make_ndarray reads keeps its values, and how many entries make one element.
_VALUE_FIELDS = {
    **{enum: (field, 1) for enum, (field, _) in _FIELDS.items()},
    types_pb2.DT_STRING: ("string_val", 1),
    types_pb2.DT_HALF: ("half_val", 1), types_pb2.DT_BFLOAT16: ("half_val", 1),
    **{enum: ("int_val", 1) for enum in (types_pb2.DT_INT8, types_pb2.DT_INT16, types_pb2.DT_UINT8,
                                         types_pb2.DT_UINT16, types_pb2.DT_QINT8, types_pb2.DT_QUINT8,
                                         types_pb2.DT_QINT16, types_pb2.DT_QUINT16, types_pb2.DT_QINT32,
                                         types_pb2.DT_INT4, types_pb2.DT_UINT4)},
    types_pb2.DT_UINT32: ("uint32_val", 1), types_pb2.DT_UINT64: ("uint64_val", 1),
    types_pb2.DT_COMPLEX64: ("scomplex_val", 2), types_pb2.DT_COMPLEX128: ("dcomplex_val", 2),
    types_pb2.DT_FLOAT8_E5M2: ("float8_val", 1), types_pb2.DT_FLOAT8_E4M3FN: ("float8_val", 1),
}
# numpy's own rank limit (NPY_MAXDIMS); TF allows 254, but no array of a higher rank can be built here.
MAX_RANK = 32
# Without a caller's limit: what a 16 MiB message could spell out at one byte per element.
DEFAULT_MAX_ELEMENTS = 16 * 1024 * 1024


def to_ndarray(proto: tensor_pb2.TensorProto, name: str,
               max_elements: int = DEFAULT_MAX_ELEMENTS) -> np.ndarray:
    """Decodes one request tensor; `InvalidArgument` names the input on any inconsistency.

    The shape is checked before anything is materialised: at most `MAX_RANK` dimensions and `max_elements`
    elements (`ResourceExhausted` beyond). The values must number exactly the elements, or be one value that
    fills the whole shape (tf.make_ndarray's broadcast, which clients of TF Serving use).
    """
    if proto.dtype not in _VALUE_FIELDS:  # DT_RESOURCE, DT_VARIANT, DT_INVALID, *_REF and unknown numbers
        raise InvalidArgument(f"input '{name}' has unsupported dtype {dtype_name(proto.dtype)}")
    shape = _checked_shape(proto, name, max_elements)
    count = math.prod(shape)
    if proto.tensor_content:
        return _from_content(proto, shape, count, name)
    field, per_element = _VALUE_FIELDS[proto.dtype]
    values = getattr(proto, field)
    if len(values) == count * per_element:
        if proto.dtype == types_pb2.DT_STRING:
            array = np.empty(count, dtype=object)
            array[:] = list(values)
            return array.reshape(shape)
        if proto.dtype in _FIELDS:
            return np.array(values, dtype=_FIELDS[proto.dtype][1]).reshape(shape)
    elif len(values) == per_element and count > 1:
        if proto.dtype == types_pb2.DT_STRING:
            return np.full(shape, values[0], dtype=object)
        if proto.dtype in _FIELDS:
            return np.full(shape, values[0], dtype=_FIELDS[proto.dtype][1])
    else:
        raise InvalidArgument(f"input '{name}' of shape {shape} has {count} elements but "
                              f"{len(values) // per_element} values in {field}; send every value, or exactly one "
                              "to fill the shape")
    try:
        return tf.make_ndarray(proto)
    except (TypeError, ValueError, IndexError) as error:
        raise InvalidArgument(f"input '{name}' is not a valid TensorProto of shape {shape}: {error}") from None


def _checked_shape(proto: tensor_pb2.TensorProto, name: str, max_elements: int) -> List[int]:
    dims = proto.tensor_shape.dim
    if len(dims) > MAX_RANK:
        raise InvalidArgument(f"input '{name}' has {len(dims)} dimensions; at most {MAX_RANK} are supported")
    shape = [dim.size for dim in dims]
    if any(size < 0 for size in shape):
        raise InvalidArgument(f"input '{name}' has a negative dimension in shape {shape}")
    count = math.prod(shape)
    if count > max_elements:
        raise ResourceExhausted(f"input '{name}' of shape {shape} has {count} elements, more than the limit of "
                                f"{max_elements} per tensor")
    return shape


def _from_content(proto: tensor_pb2.TensorProto, shape: List[int], count: int, name: str) -> np.ndarray:
    if proto.dtype == types_pb2.DT_STRING:
        raise InvalidArgument(f"input '{name}': a DT_STRING tensor cannot use tensor_content; send string_val")
    numpy_type = np.dtype(tf.dtypes.as_dtype(proto.dtype).as_numpy_dtype)
    content = proto.tensor_content
    if len(content) != count * numpy_type.itemsize:
        raise InvalidArgument(f"input '{name}': tensor_content has {len(content)} bytes, shape {shape} of "
                              f"{numpy_type.name} needs {count * numpy_type.itemsize}")
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
    """TF Serving's dtype spelling (`DT_STRING`), for messages; a number no DataType has is shown as it is."""
    try:
        return types_pb2.DataType.Name(enum)
    except ValueError:
        return f"DataType {enum}"


def dtype_enum(array: np.ndarray) -> int:
    """The DataType of a decoded array (strings are `object` arrays)."""
    if array.dtype == object or array.dtype.kind == "S":
        return types_pb2.DT_STRING
    enum = _ENUM_BY_NUMPY.get(array.dtype)
    return enum if enum is not None else tf.dtypes.as_dtype(array.dtype).as_datatype_enum
