"""The gRPC floor: a PredictionService whose Predict returns a constant response without touching any model.

Measured with the same grpc.aio client as the real server, it shows what Python grpcio itself costs per call on
this machine (client + transport + server framework), so the real server's overhead can be read as
"floor + model + ours". With `--hold-ms`, each call is held (slept) that long before the answer, as a model call
would hold it: grpcio's cost depends on how long both processes sit idle between the request and the answer
(on this VM, waking an idle thread is slow), so the fair floor for a 12 ms model is a 12 ms hold, not an
instant answer. Started by serving_bench.py:

    python benchmarks/grpc_floor_server.py --port PORT [--aio] [--hold-ms MS]

It serves grpc.health.v1-free plain PredictionService on 127.0.0.1; the sync variant uses the same thread-pool
server type as nlp2prod's server, `--aio` the asyncio server.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import time

import grpc
from tensorflow.core.framework import types_pb2
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

_RESPONSE = predict_pb2.PredictResponse()
_RESPONSE.model_spec.name = "floor"
_RESPONSE.outputs["label"].dtype = types_pb2.DT_STRING
_RESPONSE.outputs["label"].tensor_shape.dim.add(size=1)
_RESPONSE.outputs["label"].string_val.append(b"floor")


class ConstantPrediction(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, hold_s: float = 0.0):
        self._hold_s = hold_s

    def Predict(self, request, context):
        if self._hold_s:
            time.sleep(self._hold_s)
        return _RESPONSE


class AsyncConstantPrediction(ConstantPrediction):
    async def Predict(self, request, context):
        if self._hold_s:
            await asyncio.sleep(self._hold_s)
        return _RESPONSE


def serve_sync(port: int, hold_s: float) -> None:
    server = grpc.server(concurrent.futures.ThreadPoolExecutor(16))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(ConstantPrediction(hold_s), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    server.wait_for_termination()


async def serve_aio(port: int, hold_s: float) -> None:
    server = grpc.aio.server()
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(AsyncConstantPrediction(hold_s), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--aio", action="store_true", help="the grpc.aio server instead of the thread pool one")
    parser.add_argument("--hold-ms", type=float, default=0.0, help="hold each call this long before answering")
    args = parser.parse_args()
    if args.hold_ms < 0:
        parser.error(f"--hold-ms must be >= 0, got {args.hold_ms}")
    if args.aio:
        asyncio.run(serve_aio(args.port, args.hold_ms / 1000))
    else:
        serve_sync(args.port, args.hold_ms / 1000)


if __name__ == "__main__":
    main()
