"""The three ways a version's signatures run, as tensorflow_model_server runs them.

- `FunctionRuntime`: a TF2 SavedModel through `tf.saved_model.load` and each signature's concrete function;
- `SessionRuntime`: a graph-mode (TF1) SavedModel in a `tf.compat.v1.Session`, for the SavedModels whose
  signatures the TF2 loader cannot rebuild (TF Serving loads every SavedModel this way);
- `TfliteRuntime`: `model.tflite` through the TFLite interpreter (`--prefer_tflite_model`).

Each takes numpy inputs by alias and returns numpy outputs by alias. None checks shapes: a tensor is fed as sent
and the graph decides, as upstream does; a graph's refusal surfaces as the `tf.errors.OpError` it raised.
"""

from __future__ import annotations

import os
import threading
from typing import Callable, Dict, Mapping

import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import config_pb2, meta_graph_pb2

from serving import layout

Arrays = Dict[str, np.ndarray]
SERVE_TAG = "serve"
TFLITE_FILE = layout.TFLITE_FILE
DEFAULT_SIGNATURE = "serving_default"
PREDICT_METHOD = "tensorflow/serving/predict"


class FunctionRuntime:
    """A TF2 SavedModel: one concrete function per signature, called with tensors in its flat order."""

    def __init__(self, path: str, signature_defs: Mapping[str, meta_graph_pb2.SignatureDef]):
        self._loaded = tf.saved_model.load(path, tags=[SERVE_TAG])
        self._calls: Dict[str, Callable[[Mapping[str, np.ndarray]], Mapping]] = {
            key: _flat_call(self._loaded.signatures[key], set(signature.inputs))
            for key, signature in signature_defs.items() if key in self._loaded.signatures}

    def __contains__(self, key: str) -> bool:
        return key in self._calls

    def run(self, key: str, inputs: Mapping[str, np.ndarray]) -> Arrays:
        return {alias: tensor.numpy() for alias, tensor in self._calls[key](inputs).items()}

    def close(self) -> None:
        self._calls.clear()
        self._loaded = None


def _flat_call(function, aliases):
    """A call that feeds tensors in the function's flat order, with no check of their shapes.

    The public keyword call binds arguments against the structured signature on every request (about a tenth of
    a millisecond for a small model) and refuses a shape the signature does not declare, which TF Serving
    accepts; `_call_flat` is where that call ends up. The keyword call stays the fallback on TensorFlow
    versions that lack it, and for a function whose argument names are not the signature's aliases.
    """
    kwargs_spec = function.structured_input_signature[1]
    order = sorted(kwargs_spec)
    dtypes = [kwargs_spec[name].dtype for name in order]
    call_flat = getattr(function, "_call_flat", None)
    captured = getattr(function, "captured_inputs", None)
    if call_flat is None or captured is None or set(order) != aliases:
        return lambda inputs: function(**{k: tf.constant(v) for k, v in inputs.items()})

    def call(inputs: Mapping[str, np.ndarray]):
        return call_flat([tf.constant(inputs[name], dtype) for name, dtype in zip(order, dtypes)], captured)

    return call


class SessionRuntime:
    """A graph-mode SavedModel in its own Graph and Session; each signature is one Session callable."""

    def __init__(self, path: str, signature_defs: Mapping[str, meta_graph_pb2.SignatureDef]):
        self._graph = tf.Graph()
        self._session = tf.compat.v1.Session(graph=self._graph)
        with self._graph.as_default():
            tf.compat.v1.saved_model.loader.load(self._session, [SERVE_TAG], path)
        self._calls = {key: self._callable(signature) for key, signature in signature_defs.items()}

    def _callable(self, signature: meta_graph_pb2.SignatureDef):
        feeds, fetches = sorted(signature.inputs), sorted(signature.outputs)
        options = config_pb2.CallableOptions(feed=[signature.inputs[a].name for a in feeds],
                                             fetch=[signature.outputs[a].name for a in fetches])
        # A callable built from options runs the graph as fed; Session.run would refuse shapes it does not expect.
        run = self._session._make_callable_from_options(options)  # pylint: disable=protected-access

        def call(inputs: Mapping[str, np.ndarray]) -> Arrays:
            return dict(zip(fetches, run(*(inputs[alias] for alias in feeds))))

        return call

    def __contains__(self, key: str) -> bool:
        return key in self._calls

    def run(self, key: str, inputs: Mapping[str, np.ndarray]) -> Arrays:
        return self._calls[key](inputs)

    def close(self) -> None:
        self._calls.clear()
        self._session.close()


class TfliteRuntime:
    """`model.tflite` in one interpreter (not thread-safe, so calls take turns).

    Its SignatureDefs are the ones the TFLite converter stores in the `signature_defs_metadata` entry (a FlexBuffer
    map of serialized SignatureDefs); a model without them serves one `serving_default` keyed by its tensors'
    names, as upstream.
    """

    def __init__(self, path: str):
        model_path = os.path.join(path, TFLITE_FILE)
        self._interpreter = tf.lite.Interpreter(model_path=model_path)
        self._lock = threading.Lock()
        self._shapes: Dict[int, tuple] = {}  # the shape each input tensor was last resized to
        self._inputs = {d["name"]: d for d in self._interpreter.get_input_details()}
        self._outputs = {d["name"]: d for d in self._interpreter.get_output_details()}
        with open(model_path, "rb") as handle:
            self.signature_defs = _stored_signature_defs(handle.read()) or {DEFAULT_SIGNATURE: self._tensor_signature()}
        for signature in self.signature_defs.values():
            for infos, known in ((signature.inputs, self._inputs), (signature.outputs, self._outputs)):
                for alias, info in infos.items():
                    name = info.name if info.name in known else info.name.rsplit(":", 1)[0]
                    if name not in known:
                        raise ValueError(f"{model_path}: signature tensor {alias} names an unknown tensor {info.name}")
                    info.name = name

    def _tensor_signature(self) -> meta_graph_pb2.SignatureDef:
        signature = meta_graph_pb2.SignatureDef(method_name=PREDICT_METHOD)
        for target, details in ((signature.inputs, self._inputs), (signature.outputs, self._outputs)):
            for name, detail in details.items():
                info = target[name.rsplit(":", 1)[0]]
                info.name, info.dtype = name, tf.dtypes.as_dtype(detail["dtype"]).as_datatype_enum
                for size in detail["shape_signature"]:
                    info.tensor_shape.dim.add(size=int(size))
        return signature

    def __contains__(self, key: str) -> bool:
        return key in self.signature_defs

    def run(self, key: str, inputs: Mapping[str, np.ndarray]) -> Arrays:
        signature = self.signature_defs[key]
        with self._lock:
            interpreter = self._interpreter
            for alias, array in inputs.items():
                index = self._inputs[signature.inputs[alias].name]["index"]
                if self._shapes.get(index) != array.shape:
                    interpreter.resize_tensor_input(index, list(array.shape))
                    self._shapes[index] = array.shape
            interpreter.allocate_tensors()
            for alias, array in inputs.items():
                interpreter.set_tensor(self._inputs[signature.inputs[alias].name]["index"], array)
            interpreter.invoke()
            return {alias: interpreter.get_tensor(self._outputs[info.name]["index"]).copy()
                    for alias, info in signature.outputs.items()}

    def close(self) -> None:
        with self._lock:
            self._interpreter = None


def _stored_signature_defs(model: bytes) -> Dict[str, meta_graph_pb2.SignatureDef]:
    from flatbuffers import flexbuffers
    from tensorflow.lite.python import schema_py_generated as schema

    root = schema.Model.GetRootAsModel(model, 0)
    for index in range(root.MetadataLength()):
        entry = root.Metadata(index)
        if entry.Name() == b"signature_defs_metadata":
            stored = flexbuffers.GetRoot(bytes(root.Buffers(entry.Buffer()).DataAsNumpy())).AsMap
            return {key.AsString: meta_graph_pb2.SignatureDef.FromString(value.AsStringBytes)
                    for key, value in zip(stored.Keys, stored.Values)}
    return {}
