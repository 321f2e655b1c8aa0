"""Warmup: replay `assets.extra/tf_serving_warmup_requests` against a version before it takes traffic.

The file is a TFRecord of PredictionLog protos (at most 1000 records), as TF Serving reads it. Each record runs
`iterations` times against the loading version itself (not routed); any failure fails the load, so a version
whose warmup breaks never becomes AVAILABLE. The time spent is recorded as `model_warmup_latency`.
"""

from __future__ import annotations

import os
import time

import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2

from serving import codec
from serving.dataplane import DataPlane, ModelRef
from serving.errors import InvalidArgument, ServingError, Unimplemented
from serving.layout import WARMUP_FILE
from serving.metrics import ServingMetrics
from serving.servable import Servable

MAX_RECORDS = 1000


def replay_warmup(servable: Servable, plane: DataPlane, metrics: ServingMetrics, iterations: int = 1) -> int:
    """Replays the version's warmup records; returns how many were read (0 when there is no file)."""
    path = os.path.join(servable.path, WARMUP_FILE)
    if not os.path.exists(path):
        return 0
    started, count, status = time.perf_counter(), 0, "OK"
    try:
        for record in tf.data.TFRecordDataset(path).as_numpy_iterator():
            count += 1
            if count > MAX_RECORDS:
                raise InvalidArgument(f"Number of warmup records exceeds the maximum ({MAX_RECORDS}) at {path}")
            log = prediction_log_pb2.PredictionLog.FromString(record)
            for _ in range(max(1, iterations)):
                _replay(servable, plane, log)
    except ServingError as error:
        status = error.code_name
        raise InvalidArgument(f"warmup of {servable.label} failed at record {count} of {path}: "
                              f"{error.message}") from None
    except tf.errors.OpError as error:
        status = "DATA_LOSS"
        raise InvalidArgument(f"warmup file {path} of {servable.label} is not a readable TFRecord: "
                              f"{error.message}") from None
    finally:
        metrics.record_warmup(servable.path, status, time.perf_counter() - started)
    return count


def _replay(servable: Servable, plane: DataPlane, log: prediction_log_pb2.PredictionLog) -> None:
    kind = log.WhichOneof("log_type")
    if kind == "predict_log":
        request = log.predict_log.request
        limit = plane.limits.max_tensor_elements
        inputs = {name: codec.to_ndarray(tensor, name, limit) for name, tensor in request.inputs.items()}
        plane.predict_on(servable, request.model_spec.signature_name, inputs, list(request.output_filter))
    elif kind == "classify_log":
        request = log.classify_log.request
        plane.classify_on(servable, request.model_spec.signature_name, codec.examples_from_input(request.input))
    elif kind == "regress_log":
        request = log.regress_log.request
        plane.regress_on(servable, request.model_spec.signature_name, codec.examples_from_input(request.input))
    elif kind == "multi_inference_log":
        request = log.multi_inference_log.request
        tasks = [(ModelRef(servable.name, signature=task.model_spec.signature_name), task.method_name)
                 for task in request.tasks]
        plane.multi_inference_on(servable, tasks, codec.examples_from_input(request.input))
    else:
        raise Unimplemented(f"warmup record of kind {kind or 'empty'} is not supported")
