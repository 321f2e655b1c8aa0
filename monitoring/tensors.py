"""Python / numpy values ↔ TensorProto messages of `monitoring.log_protos`, without TensorFlow.

Covers what a text classifier's requests and responses hold: strings, floats, integers and booleans of any
rank. Values may be nested lists or numpy arrays (duck-typed through `.tolist()` and `.dtype`, so numpy is not
required).
"""

from __future__ import annotations

import struct
from typing import List, Sequence, Tuple

from monitoring.log_protos import DataType, TensorProto

_NAME = {value.number: value.name for value in DataType.values}
_NUMBER = {value.name: value.number for value in DataType.values}
_VALUE_FIELD = {"DT_FLOAT": "float_val", "DT_DOUBLE": "double_val", "DT_INT32": "int_val",
                "DT_INT64": "int64_val", "DT_BOOL": "bool_val", "DT_STRING": "string_val"}
_CONTENT_FORMAT = {"DT_FLOAT": "f", "DT_DOUBLE": "d", "DT_INT32": "i", "DT_INT64": "q", "DT_BOOL": "?"}


class TensorCodingError(ValueError):
    """A value that cannot be written as (or read from) a TensorProto; the message says why."""


def _numpy_dtype(values) -> str:
    kind, size = values.dtype.kind, values.dtype.itemsize
    if kind == "f":
        return "DT_DOUBLE" if size == 8 else "DT_FLOAT"
    if kind in "iu":
        return "DT_INT32" if size <= 4 and kind == "i" else "DT_INT64"
    if kind == "b":
        return "DT_BOOL"
    if kind in "OSU":
        return "DT_STRING"
    raise TensorCodingError(f"cannot log a tensor of numpy dtype {values.dtype}")


def flatten(values) -> Tuple[List[int], list]:
    if not isinstance(values, (list, tuple)):
        return [], [values]
    if not values:
        return [0], []
    parts = [flatten(item) for item in values]
    shapes = {tuple(shape) for shape, _ in parts}
    if len(shapes) != 1:
        raise TensorCodingError("a logged tensor must be rectangular (rows of different lengths given)")
    return [len(values), *parts[0][0]], [flat for _, items in parts for flat in items]


def _python_dtype(flat: list) -> str:
    if all(isinstance(v, (bytes, str)) for v in flat):
        return "DT_STRING"
    if all(isinstance(v, bool) for v in flat):
        return "DT_BOOL"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in flat):
        return "DT_INT64"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in flat):
        return "DT_FLOAT"
    raise TensorCodingError("a logged tensor must hold only strings, only numbers or only booleans")


def tensor_proto(values) -> TensorProto:
    """A TensorProto of `values` (nested lists or a numpy array); str elements are UTF-8 encoded.

    Raises:
      TensorCodingError: ragged rows, mixed element types or an unsupported dtype.
    """
    dtype = _numpy_dtype(values) if hasattr(values, "dtype") and hasattr(values, "tolist") else None
    shape, flat = flatten(values.tolist() if hasattr(values, "tolist") else values)
    dtype = dtype or (_python_dtype(flat) if flat else "DT_FLOAT")
    proto = TensorProto(dtype=_NUMBER[dtype])
    for size in shape:
        proto.tensor_shape.dim.add(size=size)
    if dtype == "DT_STRING":
        proto.string_val.extend(v.encode("utf-8") if isinstance(v, str) else v for v in flat)
    else:
        getattr(proto, _VALUE_FIELD[dtype]).extend(flat)
    return proto


def tensor_values(proto: TensorProto) -> Tuple[Tuple[int, ...], list]:
    """(shape, flat values) of a TensorProto; strings come back as bytes.

    Raises:
      TensorCodingError: a dtype this module does not read.
    """
    dtype = _NAME.get(proto.dtype, f"enum {proto.dtype}")
    if dtype not in _VALUE_FIELD:
        raise TensorCodingError(f"cannot read a logged tensor of dtype {dtype}")
    shape = tuple(dim.size for dim in proto.tensor_shape.dim)
    count = 1
    for size in shape:
        count *= size
    if proto.tensor_content and dtype in _CONTENT_FORMAT:
        fmt = _CONTENT_FORMAT[dtype]
        return shape, list(struct.unpack(f"<{len(proto.tensor_content) // struct.calcsize(fmt)}{fmt}",
                                         proto.tensor_content))
    flat = list(getattr(proto, _VALUE_FIELD[dtype]))
    if len(flat) == 1 and count > 1:
        flat = flat * count  # TensorFlow's rule: one value stands for a tensor filled with it
    return shape, flat


def rows(proto: TensorProto) -> List[list]:
    """The tensor as a list of rows along its first dimension (a vector gives one-element rows)."""
    shape, flat = tensor_values(proto)
    if not shape:
        return [flat]
    width = len(flat) // shape[0] if shape[0] else 0
    return [flat[i * width:(i + 1) * width] for i in range(shape[0])]


def row_count(shapes: Sequence[Tuple[int, ...]]) -> int:
    """The batch size shared by tensors of these shapes (0 when none has a first dimension)."""
    return max((shape[0] for shape in shapes if shape), default=0)
