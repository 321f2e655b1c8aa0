"""The sustained load of the swap/rollback robustness run: gRPC (grpc.aio, official stub) and REST clients that
never stop while versions are pushed, labels move and versions unload, recording every request.

Each record is (start, end, route, version or None, error or None); route is "stable" (addressed by the label),
"latest" (no version: the highest AVAILABLE) or "rest-stable" (REST by label; REST answers carry no version).
"""

from __future__ import annotations

import asyncio
import dataclasses
import http.client
import json
import threading
import time
from typing import List, Optional

import grpc
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc


@dataclasses.dataclass(frozen=True)
class Record:
    start: float
    end: float
    route: str
    version: Optional[int]
    error: Optional[str]


def _request(model: str, label: Optional[str], text: str) -> predict_pb2.PredictRequest:
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    if label:
        request.model_spec.version_label = label
    request.inputs["text"].CopyFrom(tf.make_tensor_proto([text], dtype=tf.string))
    return request


class SwapLoad:
    """`grpc_workers` closed-loop gRPC clients (alternating stable / latest) and `rest_workers` REST clients."""

    def __init__(self, model: str, grpc_address: str, rest_port: int, grpc_workers: int = 6, rest_workers: int = 2):
        self.records: List[Record] = []
        self._model, self._address, self._rest_port = model, grpc_address, rest_port
        self._grpc_workers, self._rest_workers = grpc_workers, rest_workers
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: List[threading.Thread] = []

    def __enter__(self) -> "SwapLoad":
        self._threads = [threading.Thread(target=lambda: asyncio.run(self._grpc_main()), daemon=True)]
        self._threads += [threading.Thread(target=self._rest_loop, daemon=True) for _ in range(self._rest_workers)]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.records)

    def _add(self, record: Record) -> None:
        with self._lock:
            self.records.append(record)

    async def _grpc_main(self) -> None:
        async with grpc.aio.insecure_channel(self._address) as channel:
            stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
            await asyncio.gather(*(self._grpc_worker(stub, "stable" if i % 2 == 0 else "latest")
                                   for i in range(self._grpc_workers)))

    async def _grpc_worker(self, stub, route: str) -> None:
        request = _request(self._model, "stable" if route == "stable" else None, "hello there, how are you?")
        while not self._stop.is_set():
            start = time.monotonic()
            try:
                response = await stub.Predict(request, timeout=30)
                self._add(Record(start, time.monotonic(), route, response.model_spec.version.value, None))
            except grpc.aio.AioRpcError as error:
                self._add(Record(start, time.monotonic(), route, None, f"{error.code().name}: {error.details()}"))

    def _rest_loop(self) -> None:
        body = json.dumps({"instances": ["was für ein schöner Tag"]}).encode("utf-8")
        path = f"/v1/models/{self._model}/labels/stable:predict"
        connection = http.client.HTTPConnection("127.0.0.1", self._rest_port, timeout=30)
        while not self._stop.is_set():
            start = time.monotonic()
            try:
                connection.request("POST", path, body, {"Content-Type": "application/json"})
                response = connection.getresponse()
                payload = response.read()
                error = None if response.status == 200 else f"HTTP {response.status}: {payload[:200]!r}"
            except (OSError, http.client.HTTPException) as failure:
                error = f"{type(failure).__name__}: {failure}"
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", self._rest_port, timeout=30)
            self._add(Record(start, time.monotonic(), "rest-stable", None, error))
        connection.close()
