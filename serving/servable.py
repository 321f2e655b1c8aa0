"""One loaded SavedModel version: its signature defs (as TF Serving reports them) and a fast call per signature.

Any process that loads our models must register TF Text's ops first, hence the `tensorflow_text` import.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import threading
from typing import Callable, Dict, List, Mapping, Optional, Tuple

import numpy as np
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the TF Text ops the exported graphs use)
from google.protobuf import text_format
from tensorflow.core.protobuf import meta_graph_pb2, saved_model_pb2

from serving import runtimes
from serving.batching import BatchScheduler
from serving.config import BatchingConfig
from serving.errors import Internal, InvalidArgument, ServingError, from_code

PREDICT_METHOD = runtimes.PREDICT_METHOD
CLASSIFY_METHOD = "tensorflow/serving/classify"
REGRESS_METHOD = "tensorflow/serving/regress"
DEFAULT_SIGNATURE = runtimes.DEFAULT_SIGNATURE
SERVE_TAG = runtimes.SERVE_TAG

Arrays = Dict[str, np.ndarray]
log = logging.getLogger(__name__)


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
                 on_batch: Optional[Callable[[str, List[float], int, int], None]] = None, prefer_tflite: bool = False):
        self.name, self.version, self.path = name, version, path
        self.label = f"model {name} version {version}"  # in every message about this version; built once
        tflite = (runtimes.TfliteRuntime(path)
                  if prefer_tflite and os.path.exists(os.path.join(path, runtimes.TFLITE_FILE)) else None)
        # Kept whole for GetModelMetadata, which lists `__saved_model_init_op` too, as upstream does.
        self.signature_defs = dict(tflite.signature_defs if tflite else read_meta_graph(path).signature_def)
        self.signatures = {key: Signature(key, sig.method_name,
                                          {k: _spec(k, v) for k, v in sig.inputs.items()},
                                          {k: _spec(k, v) for k, v in sig.outputs.items()})
                           for key, sig in self.signature_defs.items() if not key.startswith("__")}
        self._runtime = tflite or _saved_model_runtime(path, {k: self.signature_defs[k] for k in self.signatures})
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
        if key not in self._runtime:
            raise Internal(f"{self.label}: signature {key} is in the SavedModel but not callable")
        try:
            return self._runtime.run(key, inputs)
        except ServingError:
            raise
        except tf.errors.OpError as error:
            raise from_code(error.error_code, f"{self.label}: {error.message}") from None
        except (TypeError, ValueError) as error:
            raise InvalidArgument(f"{self.label}, signature {key}: {error}") from None

    def execute(self, key: str, inputs: Mapping[str, np.ndarray], deadline: Optional[float] = None) -> Arrays:
        """Runs signature `key` through its batch scheduler when batching is on, else directly."""
        scheduler = self._schedulers.get(key) if key in self._schedulers else self._scheduler(key)
        if scheduler is None or not _one_batch_dimension(inputs):
            return self.run(key, inputs)  # what cannot be split into rows goes to the graph as sent
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
        self._runtime.close()


def _one_batch_dimension(inputs: Mapping[str, np.ndarray]) -> bool:
    sizes = {array.shape[0] if array.ndim else None for array in inputs.values()}
    return len(sizes) == 1 and None not in sizes


def _saved_model_runtime(path: str, signature_defs):
    """The TF2 loader's functions, or a Session for a graph-mode SavedModel whose signatures it cannot rebuild."""
    try:
        return runtimes.FunctionRuntime(path, signature_defs)
    except (ValueError, TypeError, tf.errors.OpError) as error:
        first = error
    log.info("%s: the TF2 loader refused it (%s); loading it into a Session", path, first)
    try:
        return runtimes.SessionRuntime(path, signature_defs)
    except (ValueError, TypeError, RuntimeError, tf.errors.OpError) as error:
        raise Internal(f"{path}: cannot be loaded: {first}; in a Session: {error}") from None
