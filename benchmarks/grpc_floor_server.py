"""The gRPC floor: a PredictionService whose Predict returns a constant response without touching any model.

Measured with the same grpc.aio client as the real server, it shows what Python grpcio itself costs per call on
this machine (client + transport + server framework), so the real server's overhead can be read as
"floor + model + ours". Started by serving_bench.py:

    python benchmarks/grpc_floor_server.py --port PORT [--aio]

It serves grpc.health.v1-free plain PredictionService on 127.0.0.1; the sync variant uses the same thread-pool
server type as nlp2prod's server, `--aio` the asyncio server.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures

import grpc
from tensorflow.core.framework import types_pb2
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

_RESPONSE = predict_pb2.PredictResponse()
_RESPONSE.model_spec.name = "floor"
_RESPONSE.outputs["label"].dtype = types_pb2.DT_STRING
_RESPONSE.outputs["label"].tensor_shape.dim.add(size=1)
_RESPONSE.outputs["label"].string_val.append(b"floor")


class ConstantPrediction(prediction_service_pb2_grpc.PredictionServiceServicer):
    def Predict(self, request, context):
        return _RESPONSE


class AsyncConstantPrediction(prediction_service_pb2_grpc.PredictionServiceServicer):
    async def Predict(self, request, context):
        return _RESPONSE


def serve_sync(port: int) -> None:
    server = grpc.server(concurrent.futures.ThreadPoolExecutor(16))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(ConstantPrediction(), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    server.wait_for_termination()


async def serve_aio(port: int) -> None:
    server = grpc.aio.server()
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(AsyncConstantPrediction(), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--aio", action="store_true", help="the grpc.aio server instead of the thread pool one")
    args = parser.parse_args()
    if args.aio:
        asyncio.run(serve_aio(args.port))
    else:
        serve_sync(args.port)


if __name__ == "__main__":
    main()
