"""One loaded SavedModel version: its signature defs (as TF Serving reports them) and a fast call per signature.

Any process that loads our models must register TF Text's ops first, hence the `tensorflow_text` import.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import threading
from typing import Callable, Dict, List, Mapping, Optional, Tuple

import numpy as np
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the TF Text ops the exported graphs use)
from google.protobuf import text_format
from tensorflow.core.protobuf import meta_graph_pb2, saved_model_pb2

from serving.batching import BatchScheduler
from serving.config import BatchingConfig
from serving.errors import Internal, InvalidArgument, ServingError, from_code

PREDICT_METHOD = "tensorflow/serving/predict"
CLASSIFY_METHOD = "tensorflow/serving/classify"
REGRESS_METHOD = "tensorflow/serving/regress"
DEFAULT_SIGNATURE = "serving_default"
SERVE_TAG = "serve"

Arrays = Dict[str, np.ndarray]


@dataclasses.dataclass(frozen=True)
class TensorSpec:
    """A signature input or output: dtype (numpy; strings are `object`) and shape (None dims unknown)."""

    alias: str
    dtype: np.dtype
    dtype_enum: int
    shape: Optional[Tuple[Optional[int], ...]]  # None: unknown rank

    @property
    def dtype_name(self) -> str:
        return tf.dtypes.as_dtype(self.dtype_enum).name


@dataclasses.dataclass(frozen=True)
class Signature:
    key: str
    method_name: str
    inputs: Dict[str, TensorSpec]
    outputs: Dict[str, TensorSpec]

    @property
    def batchable(self) -> bool:
        """Whether every input has a leading batch dimension, so requests can be merged."""
        return all(spec.shape is not None and len(spec.shape) >= 1 and spec.shape[0] is None
                   for spec in self.inputs.values())


def _spec(alias: str, info) -> TensorSpec:
    dtype = tf.dtypes.as_dtype(info.dtype)
    shape = None if info.tensor_shape.unknown_rank else tuple(
        None if dim.size < 0 else dim.size for dim in info.tensor_shape.dim)
    numpy_dtype = np.dtype(object) if dtype == tf.string else np.dtype(dtype.as_numpy_dtype)
    return TensorSpec(alias, numpy_dtype, info.dtype, shape)


def read_meta_graph(path: str) -> meta_graph_pb2.MetaGraphDef:
    """The `serve` meta graph of a SavedModel directory (saved_model.pb or .pbtxt)."""
    saved_model = saved_model_pb2.SavedModel()
    binary, text = os.path.join(path, "saved_model.pb"), os.path.join(path, "saved_model.pbtxt")
    if os.path.exists(binary):
        with open(binary, "rb") as handle:
            saved_model.ParseFromString(handle.read())
    else:
        with open(text, "r", encoding="utf-8") as handle:
            text_format.Parse(handle.read(), saved_model)
    for meta_graph in saved_model.meta_graphs:
        if SERVE_TAG in meta_graph.meta_info_def.tags:
            return meta_graph
    raise ValueError(f"{path} has no meta graph tagged '{SERVE_TAG}'")


class Servable:
    """A loaded version. `run` calls one signature on numpy inputs and returns numpy outputs."""

    def __init__(self, name: str, version: int, path: str, batching: Optional[BatchingConfig] = None,
                 on_batch: Optional[Callable[[str, List[float], int, int], None]] = None):
        self.name, self.version, self.path = name, version, path
        self.label = f"model {name} version {version}"  # in every message about this version; built once
        meta_graph = read_meta_graph(path)
        # Kept whole for GetModelMetadata, which lists `__saved_model_init_op` too, as upstream does.
        self.signature_defs = dict(meta_graph.signature_def)
        self.signatures = {key: Signature(key, sig.method_name,
                                          {k: _spec(k, v) for k, v in sig.inputs.items()},
                                          {k: _spec(k, v) for k, v in sig.outputs.items()})
                           for key, sig in self.signature_defs.items() if not key.startswith("__")}
        self._loaded = tf.saved_model.load(path, tags=[SERVE_TAG])
        self._calls: Dict[str, Callable[[Mapping[str, np.ndarray]], Mapping]] = {
            key: _flat_call(self._loaded.signatures[key], self.signatures[key])
            for key in self.signatures if key in self._loaded.signatures}
        self._batching, self._on_batch = batching, on_batch
        self._schedulers: Dict[str, Optional[BatchScheduler]] = {}
        self._schedulers_lock = threading.Lock()

    def signature(self, key: str) -> Signature:
        signature = self.signatures.get(key or DEFAULT_SIGNATURE)
        if signature is None:
            raise InvalidArgument(f"Serving signature name: \"{key}\" not found in signature def of {self.label}; "
                                  f"available: {', '.join(sorted(self.signatures))}")
        return signature

    def run(self, key: str, inputs: Mapping[str, np.ndarray]) -> Arrays:
        """Runs signature `key`; TensorFlow's errors become `ServingError`s that name this version."""
        try:
            outputs = self._calls[key](inputs)
            return {alias: tensor.numpy() for alias, tensor in outputs.items()}
        except ServingError:
            raise
        except tf.errors.OpError as error:
            raise from_code(error.error_code, f"{self.label}: {error.message}") from None
        except (TypeError, ValueError) as error:
            raise InvalidArgument(f"{self.label}, signature {key}: {error}") from None
        except KeyError:
            raise Internal(f"{self.label}: signature {key} is in the SavedModel but not callable") from None

    def execute(self, key: str, inputs: Mapping[str, np.ndarray], deadline: Optional[float] = None) -> Arrays:
        """Runs signature `key` through its batch scheduler when batching is on, else directly."""
        scheduler = self._schedulers.get(key) if key in self._schedulers else self._scheduler(key)
        if scheduler is None:
            return self.run(key, inputs)
        return scheduler.submit(dict(inputs), deadline)

    def _scheduler(self, key: str) -> Optional[BatchScheduler]:
        # Created on first use, so signatures nobody calls start no batch threads.
        with self._schedulers_lock:
            if key not in self._schedulers:
                signature = self.signatures.get(key)
                batchable = self._batching is not None and signature is not None and signature.batchable
                self._schedulers[key] = BatchScheduler(
                    functools.partial(self.run, key), self._batching, f"{self.label} signature {key}",
                    self._on_batch and functools.partial(self._on_batch, self.name)) if batchable else None
            return self._schedulers[key]

    def close(self) -> None:
        """Stops batching and drops the graph and variables; called once no request holds this version."""
        with self._schedulers_lock:
            schedulers, self._schedulers = list(self._schedulers.values()), {}
        for scheduler in schedulers:
            if scheduler is not None:
                scheduler.close()
        self._calls.clear()
        self._loaded = None


def _flat_call(function, signature: Signature):
    """A call that feeds tensors in the function's flat order.

    The public keyword call binds arguments against the structured signature on every request, which costs
    about a tenth of a millisecond for a small model; `_call_flat` is where that call ends up. The keyword call
    stays the fallback on TensorFlow versions that lack it.
    """
    kwargs_spec = function.structured_input_signature[1]
    order = sorted(kwargs_spec)
    dtypes = [kwargs_spec[name].dtype for name in order]
    call_flat = getattr(function, "_call_flat", None)
    captured = getattr(function, "captured_inputs", None)
    if call_flat is None or captured is None or set(order) != set(signature.inputs):
        return lambda inputs: function(**{k: tf.constant(v) for k, v in inputs.items()})

    def call(inputs: Mapping[str, np.ndarray]):
        return call_flat([tf.constant(inputs[name], dtype) for name, dtype in zip(order, dtypes)], captured)

    return call
