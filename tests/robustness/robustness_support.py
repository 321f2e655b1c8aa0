"""Helpers shared by the robustness tests (a plain module: test files import it; conftest builds fixtures on it):
real in-process servers on free 127.0.0.1 ports with fast polling, and a sustained gRPC load that counts every
answer. Tests state their counts (requests, failures, versions answered) in their assertion messages.
"""

from __future__ import annotations

import collections
import threading
import time

import grpc


from serving_test_support import MODEL, install, wait_for  # noqa: E402
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc  # noqa: E402

from serving import server  # noqa: E402
from serving.config import ServedModel, ServerConfig  # noqa: E402

__all__ = ["MODEL", "install", "wait_for", "start_server", "predict_request", "SustainedLoad"]


def start_server(base_path: str, **overrides) -> server.ModelServer:
    """Our server for MODEL under `base_path`: free ports on 127.0.0.1, versions polled every 50 ms, one quick
    load retry (a broken version settles in well under a second)."""
    settings = dict(host="127.0.0.1", port=0, rest_api_port=0, file_system_poll_wait_seconds=0.05,
                    max_num_load_retries=1, load_retry_interval_seconds=0.05, max_request_bytes=1 << 20,
                    max_request_batch=64)
    settings.update(overrides)
    return server.start(ServerConfig(models=(ServedModel(MODEL, base_path),), **settings))


def predict_request(text: str = "hello there") -> predict_pb2.PredictRequest:
    import tensorflow as tf

    request = predict_pb2.PredictRequest()
    request.model_spec.name = MODEL
    request.inputs["text"].CopyFrom(tf.make_tensor_proto([text], dtype=tf.string))
    return request


class SustainedLoad:
    """Client threads sending unaddressed gRPC predicts back to back until stopped.

    `versions` counts answers per version; `failures` keeps every failed call's status and details.
    """

    def __init__(self, grpc_port: int, threads: int = 3):
        self._channel = grpc.insecure_channel(f"127.0.0.1:{grpc_port}")
        self._stub = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)
        self._request = predict_request()
        self.versions: collections.Counter = collections.Counter()
        self.failures = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._loop, daemon=True) for _ in range(threads)]

    @property
    def requests(self) -> int:
        with self._lock:
            return sum(self.versions.values()) + len(self.failures)

    def __enter__(self) -> "SustainedLoad":
        for thread in self._threads:
            thread.start()
        wait_for(lambda: self.requests > 20, what="the load to start")
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        self._channel.close()

    def wait_for_requests(self, count: int, timeout: float = 60.0) -> None:
        target = self.requests + count
        wait_for(lambda: self.requests >= target, timeout=timeout, what=f"{count} more requests")

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                response = self._stub.Predict(self._request, timeout=10)
                outcome = ("ok", response.model_spec.version.value)
            except grpc.RpcError as error:
                outcome = ("failed", f"{error.code().name}: {error.details()}")
            with self._lock:
                if outcome[0] == "ok":
                    self.versions[outcome[1]] += 1
                else:
                    self.failures.append(outcome[1])

    def summary(self) -> str:
        with self._lock:
            return (f"{sum(self.versions.values()) + len(self.failures)} requests, answered by version "
                    f"{dict(sorted(self.versions.items()))}, {len(self.failures)} failed "
                    f"{self.failures[:3]}")


def seconds_since(started: float) -> float:
    return time.monotonic() - started
