"""TensorFlow's and TF Serving's messages without importing TensorFlow: for client commands that must start fast.

`tensorflow_serving.apis.predict_pb2` imports `tensorflow.core.framework.tensor_pb2`, and importing any module
under `tensorflow` runs TensorFlow's package `__init__` (seconds, and its console noise). The generated `_pb2`
files carry their schema as a serialized FileDescriptorProto, so this module reads those bytes from the installed
files as text (never executing the packages), adds them with their dependencies to a private descriptor pool, and
builds message classes there. The classes are wire-compatible with the official ones (same packages, names and
field numbers): a request built here is parsed by any TF Serving server, and vice versa.

Usage: `message("tensorflow.serving.PredictRequest")`; `rpc(channel, "tensorflow.serving.PredictionService",
"Predict")` gives a unary callable like a generated stub's method.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import os
from typing import Callable

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

# Where each service's schema lives, and the files that define the messages clients use.
SERVICE_FILES = {
    "tensorflow.serving.PredictionService": "tensorflow_serving/apis/prediction_service.proto",
    "tensorflow.serving.ModelService": "tensorflow_serving/apis/model_service.proto",
}
_MESSAGE_FILES = (
    "tensorflow_serving/apis/prediction_service.proto",
    "tensorflow_serving/apis/model_service.proto",
    "tensorflow_model_analysis/proto/metrics_for_slice.proto",
)

# Schemas TensorFlow's wheel carries under tensorflow/ although their proto paths start elsewhere.
_VENDORED_IN_TENSORFLOW = ("tsl", "xla")

_POOL = descriptor_pool.DescriptorPool()
_FACTORY = message_factory.MessageFactory(_POOL)  # protobuf 3.20 (the lock): GetPrototype, not GetMessageClass
_ADDED: set = set()


class ProtoSchemaMissing(ImportError):
    """An installed `_pb2` file that a schema needs is absent (the package is not installed)."""


def _package_dir(top_level: str) -> str:
    """The folder of an installed top-level package, found without importing it."""
    spec = importlib.util.find_spec(top_level)
    if spec is None or not spec.submodule_search_locations:
        raise ProtoSchemaMissing(f"package {top_level!r} is not installed")
    return list(spec.submodule_search_locations)[0]


def _serialized_schema(proto_path: str) -> bytes:
    """The FileDescriptorProto bytes that the generated module of `proto_path` registers."""
    if proto_path.startswith("google/protobuf/"):
        module = importlib.import_module("google.protobuf." + os.path.basename(proto_path)[:-len(".proto")] + "_pb2")
        return module.DESCRIPTOR.serialized_pb
    top_level, rest = proto_path.split("/", 1)
    if top_level in _VENDORED_IN_TENSORFLOW:
        top_level, rest = "tensorflow", proto_path
    path = os.path.join(_package_dir(top_level), rest[:-len(".proto")] + "_pb2.py")
    if not os.path.isfile(path):
        raise ProtoSchemaMissing(f"{proto_path}: no generated module at {path}")
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read(), filename=path)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        if getattr(node.func, "attr", "") == "AddSerializedFile":  # current protoc: bytes literal
            return ast.literal_eval(node.args[0])
        for keyword in node.keywords:  # older protoc: FileDescriptor(serialized_pb=_b('...latin-1 text...'))
            if keyword.arg == "serialized_pb" and getattr(node.func, "attr", "") == "FileDescriptor":
                value = keyword.value
                literal = ast.literal_eval(value.args[0] if isinstance(value, ast.Call) else value)
                return literal.encode("latin1") if isinstance(literal, str) else literal
    raise ProtoSchemaMissing(f"{path}: no serialized schema found")


def _add_file(proto_path: str) -> None:
    if proto_path in _ADDED:
        return
    schema = descriptor_pb2.FileDescriptorProto.FromString(_serialized_schema(proto_path))
    for dependency in schema.dependency:
        _add_file(dependency)
    _POOL.Add(schema)
    _ADDED.add(proto_path)


@functools.lru_cache(maxsize=None)
def _load_all() -> None:
    for proto_path in _MESSAGE_FILES:
        _add_file(proto_path)


@functools.lru_cache(maxsize=None)
def message(full_name: str) -> type:
    """The message class of `full_name` (e.g. "tensorflow.serving.PredictRequest").

    Raises:
      ProtoSchemaMissing: the installed packages lack the schema.
      KeyError: no such message in the loaded schemas.
    """
    _load_all()
    return _FACTORY.GetPrototype(_POOL.FindMessageTypeByName(full_name))


def rpc(channel, service: str, method: str) -> Callable:
    """A unary-unary callable for `service/method` on a grpc channel, serializing with this module's classes."""
    _load_all()
    descriptor = _POOL.FindServiceByName(service).FindMethodByName(method)
    response = _FACTORY.GetPrototype(descriptor.output_type)
    return channel.unary_unary(f"/{service}/{method}", request_serializer=lambda request: request.SerializeToString(),
                               response_deserializer=response.FromString)


def enum_name(full_name: str, number: int) -> str:
    """The name of an enum value (e.g. "AVAILABLE" for ModelVersionStatus.State 30)."""
    _load_all()
    return _POOL.FindEnumTypeByName(full_name).values_by_number[number].name
