"""Oversized and deeply nested payloads over REST (raw sockets, so nothing is smoothed over by a client) and gRPC.

Each payload must get a clear 4xx / non-OK status, never a 5xx or INTERNAL, and the server must answer a normal
request right after it (it stays up and is not wedged).
"""

from __future__ import annotations

import json
import socket

import grpc
import pytest
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2
from tensorflow_serving.apis import prediction_service_pb2_grpc

from robustness_support import MODEL, install, predict_request, start_server

LIMIT = 1 << 20  # the servers here accept at most 1 MiB per request and 64 instances
PREDICT = f"/v1/models/{MODEL}:predict"


@pytest.fixture(scope="module")
def srv(exported_versions, tmp_path_factory):
    base = install(exported_versions, tmp_path_factory.mktemp("limits") / MODEL, [1])
    running = start_server(base, max_json_depth=32)
    yield running
    running.stop()


def raw_http(port: int, head: bytes, body: bytes = b"", timeout: float = 30.0) -> int:
    """Sends bytes as they are; returns the HTTP status of the answer (0 when the server just closed)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        try:
            connection.sendall(head + body)
        except OSError:
            pass  # the server may refuse and close before reading a huge body: its status line still counts
        answer = b""
        while b"\r\n" not in answer:
            chunk = connection.recv(4096)
            if not chunk:
                break
            answer += chunk
    return int(answer.split()[1]) if answer.startswith(b"HTTP/1.") else 0


def post(port: int, body: bytes, extra_headers: str = "") -> int:
    head = (f"POST {PREDICT} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n"
            f"Content-Length: {len(body)}\r\n{extra_headers}\r\n").encode("latin-1")
    return raw_http(port, head, body)


def instances(value) -> bytes:
    return json.dumps({"instances": value}).encode("utf-8")


REST_CASES = {
    "body over the byte limit": lambda port: post(port, instances(["x" * (LIMIT + 10)])),
    "Content-Length of 10 GB, no body": lambda port: raw_http(port, (
        f"POST {PREDICT} HTTP/1.1\r\nHost: x\r\nContent-Length: {10 ** 10}\r\n\r\n").encode()),
    "chunked body over the byte limit": lambda port: raw_http(port, (
        f"POST {PREDICT} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n").encode(),
        b"".join(b"%x\r\n%s\r\n" % (65536, b"a" * 65536) for _ in range(20)) + b"0\r\n\r\n"),
    "arrays nested 100,000 deep": lambda port: post(port, b'{"instances": ' + b"[" * 100000 + b"]" * 100000 + b"}"),
    "objects nested 50,000 deep": lambda port: post(port, b'{"instances": ' + b'{"a":' * 50000 + b"1" +
                                                    b"}" * 50000 + b"}"),
    "arrays nested 100,000 deep, never closed": lambda port: post(port, b'{"instances": ' + b"[" * 100000),
    "nesting one past the limit (33)": lambda port: post(port, b'{"instances": ' + b"[" * 32 + b'"a"' +
                                                         b"]" * 32 + b"}"),
    "65 instances (limit 64)": lambda port: post(port, instances(["hello"] * 65)),
    "5,000-digit integer": lambda port: post(port, b'{"instances": [' + b"7" * 5000 + b"]}"),
    "100,000 keys in one object": lambda port: post(port, json.dumps(
        {"instances": ["a"], **{f"k{i}": i for i in range(100000)}}).encode()[:LIMIT - 1]),
    "request line of 20 KB": lambda port: raw_http(port, b"GET /v1/models/" + b"m" * 20000 + b" HTTP/1.1\r\n\r\n"),
    "header line of 20 KB": lambda port: raw_http(port, b"GET /v1/models/m HTTP/1.1\r\nX-A: " + b"a" * 20000 +
                                                  b"\r\n\r\n"),
    "1,000 headers": lambda port: raw_http(port, b"GET /v1/models/m HTTP/1.1\r\n" +
                                           b"".join(b"X-%d: 1\r\n" % i for i in range(1000)) + b"\r\n"),
}


@pytest.mark.parametrize("case", list(REST_CASES))
def test_rest_refuses_oversized_and_deep_payloads_and_stays_up(case, srv):
    status = REST_CASES[case](srv.rest_port)
    assert 400 <= status < 500, f"{case}: HTTP {status}"
    assert post(srv.rest_port, instances(["still there?"])) == 200, f"{case}: the server stopped answering"


def test_brackets_inside_strings_do_not_count_as_nesting(srv):
    assert post(srv.rest_port, instances(["[" * 100000 + "{" * 1000])) == 200


def _tensor(shape, values=(), dtype=types_pb2.DT_STRING) -> tensor_pb2.TensorProto:
    proto = tensor_pb2.TensorProto(dtype=dtype)
    proto.tensor_shape.dim.extend(tensor_shape_pb2.TensorShapeProto.Dim(size=size) for size in shape)
    proto.string_val.extend(values)
    return proto


GRPC_CASES = {
    "message over the byte limit": _tensor([1], [b"x" * (LIMIT + 10)]),
    "shape of 2^40 strings with one value": _tensor([2 ** 40], [b"a"]),
    "shape of 2^62 with no values": _tensor([2 ** 31, 2 ** 31]),
    "1,000 dimensions": _tensor([1] * 1000, [b"a"]),
    "negative dimension": _tensor([-5], [b"a"]),
    "65 strings (limit 64)": _tensor([65], [b"a"] * 65),
    "tensor_content of 900 KB for 1 float": tensor_pb2.TensorProto(
        dtype=types_pb2.DT_FLOAT, tensor_shape=tf.TensorShape([1]).as_proto(), tensor_content=b"\0" * 900000),
}


@pytest.mark.parametrize("case", list(GRPC_CASES))
def test_grpc_refuses_oversized_tensors_and_stays_up(case, srv):
    request = predict_request()
    request.inputs["text"].CopyFrom(GRPC_CASES[case])
    with grpc.insecure_channel(f"127.0.0.1:{srv.grpc_port}") as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        with pytest.raises(grpc.RpcError) as raised:
            stub.Predict(request, timeout=30)
        code = raised.value.code()
        assert code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.RESOURCE_EXHAUSTED), (
            f"{case}: {code.name}: {raised.value.details()}")
        assert stub.Predict(predict_request(), timeout=30).outputs["label"].string_val, f"{case}: server wedged"


def test_grpc_deeply_nested_wire_bytes_are_refused_and_the_server_stays_up(srv):
    # 200 nested length-delimited fields (field 1 of PredictRequest is ModelSpec; inside, bytes again):
    # protobuf's recursion limit (100) must refuse it without taking the server down.
    payload = b""
    for _ in range(200):
        payload = b"\x0a" + _varint(len(payload)) + payload
    with grpc.insecure_channel(f"127.0.0.1:{srv.grpc_port}") as channel:
        call = channel.unary_unary("/tensorflow.serving.PredictionService/Predict")
        with pytest.raises(grpc.RpcError) as raised:
            call(payload, timeout=30)
        assert raised.value.code() is not grpc.StatusCode.OK
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        assert stub.Predict(predict_request(), timeout=30).outputs["label"].string_val


def _varint(value: int) -> bytes:
    out = b""
    while True:
        byte, value = value & 0x7F, value >> 7
        out += bytes([byte | (0x80 if value else 0)])
        if not value:
            return out
