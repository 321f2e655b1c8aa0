"""REST JSON <-> numpy under TF Serving's rules.

Predict: `{"signature_name", "instances": [...]}` (row format, answered as `{"predictions": ...}`) or
`{"inputs": ...}` (columnar, answered as `{"outputs": ...}`), never both; a single named output drops its name;
binary values are `{"b64": "..."}`; outputs whose name ends in `_bytes` come back as b64 objects.
Classify/regress: `{"signature_name", "context": {...}, "examples": [{feature: value}]}` -> `{"results": ...}`.

The nesting depth is checked on the raw bytes before the parser runs (CVE-2025-0649 crashed TF Serving with
deeply nested JSON); every other mistake is an `InvalidArgument` that says where in the body it is.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import sys
from typing import Dict, List, Sequence, Tuple

import numpy as np
from google.protobuf import json_format
from tensorflow.core.example import example_pb2, feature_pb2

from serving.errors import InvalidArgument
from serving.servable import Signature, TensorSpec

Arrays = Dict[str, np.ndarray]

_STRUCTURE = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
_OPENERS = (ord("["), ord("{"))
_CLOSERS = (ord("]"), ord("}"))


def parse_body(body: bytes, max_depth: int) -> dict:
    """Decodes a request body into a JSON object, refusing bad UTF-8, bad JSON and deep nesting."""
    if not body.strip():
        raise InvalidArgument("JSON Parse error: The document is empty")
    check_depth(body, max_depth)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidArgument(f"request body is not valid UTF-8: byte 0x{body[error.start]:02x} at offset "
                              f"{error.start}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidArgument(f"JSON Parse error: {error.msg} at offset: {error.pos}") from None
    except RecursionError:
        raise InvalidArgument(f"JSON Parse error: nesting deeper than {max_depth} levels") from None
    except ValueError:
        # Python refuses to convert integers longer than its int-digit limit (CVE-2020-10735); json has no offset.
        raise InvalidArgument(f"JSON Parse error: an integer has more than {sys.get_int_max_str_digits()} digits") from None
    if not isinstance(document, dict):
        raise InvalidArgument(f"JSON Value: {_preview(document)} Is not object")
    return document


def check_depth(body: bytes, max_depth: int) -> None:
    """Raises when brackets outside strings nest deeper than `max_depth`; linear, no recursion."""
    if body.count(b"[") + body.count(b"{") <= max_depth:
        return
    depth = 0
    for match in _STRUCTURE.finditer(body):
        first = match.group()[0]
        if first in _OPENERS:
            depth += 1
            if depth > max_depth:
                raise InvalidArgument(f"JSON Parse error: nesting deeper than {max_depth} levels at offset: "
                                      f"{match.start()}")
        elif first in _CLOSERS:
            depth -= 1


def signature_name(document: dict) -> str:
    name = document.get("signature_name", "")
    if not isinstance(name, str):
        raise InvalidArgument(f"JSON Value: {_preview(name)} 'signature_name' must be a string")
    return name


def predict_inputs(document: dict, signature: Signature) -> Tuple[Arrays, bool]:
    """The input arrays of a predict body and whether it used the row format."""
    if "instances" in document and "inputs" in document:
        raise InvalidArgument("Not formatted correctly expecting only one of 'inputs' or 'instances' keys to exist")
    if "instances" in document:
        return _from_instances(document["instances"], signature), True
    if "inputs" in document:
        return _from_inputs(document["inputs"], signature), False
    raise InvalidArgument("Missing 'inputs' or 'instances' key")


def _is_object(value) -> bool:
    return isinstance(value, dict) and not _is_b64(value)


def _is_b64(value) -> bool:
    return isinstance(value, dict) and len(value) == 1 and "b64" in value


def _from_instances(instances, signature: Signature) -> Arrays:
    if not isinstance(instances, list):
        raise InvalidArgument("Expecting 'instances' to be an list/array")
    if not instances:
        raise InvalidArgument("No values in 'instances' array")
    specs = signature.inputs
    if not _is_object(instances[0]):
        if len(specs) > 1:
            raise InvalidArgument("instances is a plain list, but expecting list of objects as multiple input "
                                  f"tensors required: {', '.join(sorted(specs))}")
        (name, spec), = specs.items()
        if any(isinstance(item, dict) and not _is_b64(item) for item in instances):
            raise InvalidArgument("'instances' mixes objects and plain values")
        return {name: to_array(instances, spec, "'instances'")}
    columns: Dict[str, list] = {name: [] for name in specs}
    for index, item in enumerate(instances):
        if not _is_object(item):
            raise InvalidArgument(f"Expecting object but got list at item {index} of input list")
        if set(item) != set(specs):
            raise InvalidArgument(f"Failed to process element: {index} of 'instances' list. keys must be equal "
                                  f"to: {','.join(sorted(specs))} (got {','.join(sorted(item))})")
        for name, value in item.items():
            columns[name].append(value)
    return {name: to_array(values, specs[name], f"'instances' key {name}") for name, values in columns.items()}


def _from_inputs(value, signature: Signature) -> Arrays:
    specs = signature.inputs
    if not _is_object(value):
        if len(specs) > 1:
            raise InvalidArgument("inputs is a plain value/list, but expecting an object as multiple input "
                                  f"tensors required: {', '.join(sorted(specs))}")
        (name, spec), = specs.items()
        return {name: to_array(value, spec, "'inputs'")}
    unknown = sorted(set(value) - set(specs))
    if unknown:
        raise InvalidArgument(f"'inputs' has unknown input(s) {', '.join(unknown)}; signature "
                              f"'{signature.key}' expects {', '.join(sorted(specs))}")
    missing = sorted(set(specs) - set(value))
    if missing:
        raise InvalidArgument(f"Missing named input: {missing[0]} in 'inputs' object.")
    return {name: to_array(value[name], spec, f"'inputs' key {name}") for name, spec in specs.items()}


def to_array(value, spec: TensorSpec, where: str) -> np.ndarray:
    """A JSON value as an array of the signature's dtype; the shape is checked later, against the signature."""
    if spec.dtype == object:
        flat, shape = _string_leaves(value, where)
        array = np.empty(len(flat), dtype=object)
        array[:] = flat
        return array.reshape(shape)
    if isinstance(value, dict) or (isinstance(value, list) and _has_dict(value)):
        raise InvalidArgument(f"{where}: b64 objects are only accepted for string inputs; '{spec.alias}' is "
                              f"{spec.dtype_name}")
    try:
        array = np.asarray(value)
    except (ValueError, OverflowError) as error:
        raise InvalidArgument(f"{where}: not a rectangular list of numbers ({error})") from None
    if array.size == 0 and array.dtype.kind != "O":
        return array.astype(spec.dtype)  # an empty list has no element type; the batch check reports it
    allowed = "b" if spec.dtype.kind == "b" else ("biu" if spec.dtype.kind in "iu" else "biuf")
    if array.dtype.kind not in allowed:
        raise InvalidArgument(f"{where}: input '{spec.alias}' expects {spec.dtype_name} values, got "
                              f"{_kind_name(array)}")
    if spec.dtype.kind in "iu" and array.size and (array.min() < np.iinfo(spec.dtype).min
                                                    or array.max() > np.iinfo(spec.dtype).max):
        raise InvalidArgument(f"{where}: a value is out of range for {spec.dtype_name}")
    return array.astype(spec.dtype, copy=False)


def _has_dict(values: list) -> bool:
    return any(isinstance(v, dict) or (isinstance(v, list) and _has_dict(v)) for v in values)


def _kind_name(array: np.ndarray) -> str:
    names = {"U": "strings", "O": "a ragged list, mixed types or integers beyond 64 bits", "f": "floats",
             "b": "booleans"}
    return names.get(array.dtype.kind, array.dtype.name)


def _string_leaves(value, where: str) -> Tuple[list, tuple]:
    if isinstance(value, list):
        if all(type(item) is str for item in value):
            return _utf8_list(value, where), (len(value),)
        parts = [_string_leaves(item, where) for item in value]
        shape = parts[0][1] if parts else ()
        if any(part[1] != shape for part in parts):
            raise InvalidArgument(f"{where}: ragged list; every element must have the shape of the first")
        return [leaf for part in parts for leaf in part[0]], (len(value),) + shape
    if isinstance(value, str):
        return [_utf8(value, where)], ()
    if _is_b64(value):
        return [_b64(value["b64"], where)], ()
    raise InvalidArgument(f"{where}: expected a string or {{\"b64\": ...}}, got {_preview(value)}")


def _utf8_list(texts: List[str], where: str) -> List[bytes]:
    try:
        return [text.encode("utf-8") for text in texts]  # no call per string: this is the usual batch
    except UnicodeEncodeError:
        return [_utf8(text, where) for text in texts]  # raises the error for the bad string


def _utf8(text: str, where: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidArgument(f"{where}: a string holds a lone surrogate, which is not valid UTF-8") from None


def _b64(text, where: str) -> bytes:
    if not isinstance(text, str):
        raise InvalidArgument(f"{where}: the value of 'b64' must be a string")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidArgument(f"{where}: Unable to base64 decode") from None


def predict_response(outputs: Arrays, row_format: bool) -> dict:
    """TF Serving's predict answer for the format the request used."""
    values = {name: _json_values(name, array) for name, array in outputs.items()}
    if not row_format:
        return {"outputs": next(iter(values.values())) if len(values) == 1 else values}
    sizes = {name: (array.shape[0] if array.ndim else None) for name, array in outputs.items()}
    if len(set(sizes.values())) != 1 or None in sizes.values():
        raise InvalidArgument(f"outputs have no common batch dimension ({sizes}); use the columnar 'inputs' "
                              "format for this signature")
    if len(values) == 1:
        return {"predictions": next(iter(values.values()))}
    names = list(values)
    return {"predictions": [dict(zip(names, row)) for row in zip(*(values[name] for name in names))]}


def _json_values(name: str, array: np.ndarray):
    if array.dtype != object:
        return array.tolist()
    as_b64 = name.endswith("_bytes")
    flat = [_json_string(item, as_b64) for item in array.ravel().tolist()]
    if array.ndim == 0:
        return flat[0]
    if array.ndim == 1:
        return flat
    nested = np.empty(len(flat), dtype=object)
    nested[:] = flat
    return nested.reshape(array.shape).tolist()


def _json_string(value: bytes, as_b64: bool):
    if not as_b64:
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            pass
    return {"b64": base64.b64encode(value).decode("ascii")}


def examples(document: dict) -> List[bytes]:
    """Serialized tf.Examples from a classify/regress body (`context` features merged into each)."""
    items = document.get("examples")
    if not isinstance(items, list):
        raise InvalidArgument("Expecting 'examples' to be an list/array")
    if not items:
        raise InvalidArgument("'examples' array is empty")
    context = document.get("context", {})
    if not isinstance(context, dict):
        raise InvalidArgument("'context' must be a JSON object of features")
    context_features = _features(context, "context")
    serialized = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise InvalidArgument(f"Example must be JSON object but got JSON {_preview(item)} at index {index}")
        example = example_pb2.Example()
        for name, feature in context_features.items():
            example.features.feature[name].CopyFrom(feature)
        for name, feature in _features(item, f"example {index}").items():
            example.features.feature[name].CopyFrom(feature)
        serialized.append(example.SerializeToString())
    return serialized


def _features(values: dict, where: str) -> Dict[str, feature_pb2.Feature]:
    return {name: _feature(value, f"{where} feature '{name}'") for name, value in values.items()}


def _feature(value, where: str) -> feature_pb2.Feature:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise InvalidArgument(f"{where}: an empty list has no type; leave the feature out instead")
    feature = feature_pb2.Feature()
    if all(isinstance(v, str) or _is_b64(v) for v in items):
        feature.bytes_list.value.extend(_utf8(v, where) if isinstance(v, str) else _b64(v["b64"], where)
                                        for v in items)
    elif all(type(v) is int for v in items):
        if any(not -2 ** 63 <= v < 2 ** 63 for v in items):
            raise InvalidArgument(f"{where}: an integer is out of the int64 range")
        feature.int64_list.value.extend(items)
    elif all(type(v) in (int, float) for v in items):
        feature.float_list.value.extend(float(v) for v in items)
    else:
        raise InvalidArgument(f"{where}: Unexpected element type in feature: values must be all strings, all "
                              f"numbers or b64 objects, got {_preview(value)}")
    return feature


def classify_response(results: Sequence[Sequence[Tuple[str, float]]]) -> dict:
    return {"results": [[[label, score] for label, score in classes] for classes in results]}


def regress_response(values: Sequence[float]) -> dict:
    return {"results": list(values)}


def proto_json(message) -> dict:
    """A proto as TF Serving's REST JSON: proto field names, and fields at their default value printed too
    (`"unknown_rank": false`, `"dim": []`, `"name": ""`), as upstream's JSON printer does."""
    return json_format.MessageToDict(message, preserving_proto_field_name=True, including_default_value_fields=True)


def _preview(value) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."
