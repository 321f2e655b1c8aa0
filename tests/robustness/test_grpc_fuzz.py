"""A seeded fuzz of the gRPC API: valid requests of every PredictionService / ModelService method, mutated at the
byte level (bit flips, insertions, deletions, truncations, splices), plus random but well-formed requests.

No input may get UNKNOWN or an INTERNAL from our handlers (grpcio's own "Exception deserializing request!" for
bytes that do not parse is counted apart), and the server must answer a normal request afterwards.
"""

from __future__ import annotations

import collections
import random

import grpc
import pytest
import tensorflow as tf
from tensorflow.core.example import example_pb2
from tensorflow_serving.apis import (classification_pb2, get_model_metadata_pb2, get_model_status_pb2,
                                     inference_pb2, predict_pb2, prediction_service_pb2_grpc, regression_pb2)

from robustness_support import MODEL, install, predict_request, start_server

MUTATED_INPUTS = 3000
RANDOM_INPUTS = 1000
UNDECODABLE = "Exception deserializing request!"
PREDICTION = "/tensorflow.serving.PredictionService/"
METHODS = {
    PREDICTION + "Predict": predict_pb2.PredictRequest,
    PREDICTION + "Classify": classification_pb2.ClassificationRequest,
    PREDICTION + "Regress": regression_pb2.RegressionRequest,
    PREDICTION + "MultiInference": inference_pb2.MultiInferenceRequest,
    PREDICTION + "GetModelMetadata": get_model_metadata_pb2.GetModelMetadataRequest,
    "/tensorflow.serving.ModelService/GetModelStatus": get_model_status_pb2.GetModelStatusRequest,
}


@pytest.fixture(scope="module")
def srv(exported_versions, tmp_path_factory):
    base = install(exported_versions, tmp_path_factory.mktemp("grpc-fuzz") / MODEL, [1])
    running = start_server(base)
    yield running
    running.stop()


def _example(text: bytes) -> example_pb2.Example:
    example = example_pb2.Example()
    example.features.feature["text"].bytes_list.value.append(text)
    return example


def seeds():
    """One valid serialized request per method (the starting points of the mutations)."""
    classify = classification_pb2.ClassificationRequest()
    classify.model_spec.name, classify.model_spec.signature_name = MODEL, "classify"
    classify.input.example_list.examples.extend([_example(b"hello"), _example("日本".encode())])
    regress = regression_pb2.RegressionRequest()
    regress.model_spec.name = MODEL
    regress.input.example_list_with_context.context.CopyFrom(_example(b"ctx"))
    regress.input.example_list_with_context.examples.append(_example(b"x"))
    multi = inference_pb2.MultiInferenceRequest()
    task = multi.tasks.add(method_name="tensorflow/serving/classify")
    task.model_spec.name, task.model_spec.signature_name = MODEL, "classify"
    multi.input.example_list.examples.append(_example(b"hi"))
    metadata = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
    metadata.model_spec.name = MODEL
    status = get_model_status_pb2.GetModelStatusRequest()
    status.model_spec.name = MODEL
    return {PREDICTION + "Predict": predict_request("a fuzzed text"), PREDICTION + "Classify": classify,
            PREDICTION + "Regress": regress, PREDICTION + "MultiInference": multi,
            PREDICTION + "GetModelMetadata": metadata, "/tensorflow.serving.ModelService/GetModelStatus": status}


def mutate(data: bytes, rng: random.Random) -> bytes:
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        kind = rng.randrange(5)
        at = rng.randrange(len(data) + 1)
        if kind == 0 and data:
            data[min(at, len(data) - 1)] ^= 1 << rng.randrange(8)
        elif kind == 1:
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif kind == 2:
            del data[at:at + rng.randint(1, 8)]
        elif kind == 3:
            data = data[:at]
        else:
            data[at:at] = data[rng.randrange(len(data) + 1):][:rng.randint(1, 16)]
    return bytes(data)


def random_predict(rng: random.Random) -> bytes:
    """A well-formed PredictRequest with random addressing, dtypes and values of modest size."""
    request = predict_pb2.PredictRequest()
    request.model_spec.name = rng.choice([MODEL, "", "nope", "é", MODEL * 50])
    choice = rng.randrange(3)
    if choice == 1:
        request.model_spec.version.value = rng.choice([0, 1, 2, -1, 2 ** 62])
    elif choice == 2:
        request.model_spec.version_label = rng.choice(["stable", "", "canary", "\x00"])
    request.model_spec.signature_name = rng.choice(["", "serving_default", "classify", "from_examples", "nope"])
    for name in rng.sample(["text", "inputs", "examples", "x", ""], rng.randint(0, 2)):
        values = [bytes(rng.randrange(256) for _ in range(rng.randint(0, 12))) for _ in range(rng.randint(0, 5))]
        dtype = rng.choice([tf.string, tf.float32, tf.int64, tf.bool, tf.string])
        try:
            tensor = tf.make_tensor_proto(values if dtype == tf.string else [1] * len(values), dtype=dtype)
        except (TypeError, ValueError):
            continue
        if rng.random() < 0.3:
            tensor.tensor_shape.dim.add(size=rng.choice([0, 1, 3, 7]))
        request.inputs[name].CopyFrom(tensor)
    request.output_filter.extend(rng.sample(["label", "probabilities", "nope"], rng.randint(0, 2)))
    return request.SerializeToString()


def _call(channel, method: str, payload: bytes):
    try:
        channel.unary_unary(method)(payload, timeout=30)
        return "OK", ""
    except grpc.RpcError as error:
        return error.code().name, error.details() or ""


def test_fuzzed_grpc_requests_never_get_an_internal_error(srv):
    rng = random.Random(20261123)
    valid = {method: request.SerializeToString() for method, request in seeds().items()}
    codes, bad = collections.Counter(), []
    with grpc.insecure_channel(f"127.0.0.1:{srv.grpc_port}") as channel:
        inputs = [(method, mutate(valid[method], rng)) for method in rng.choices(list(valid), k=MUTATED_INPUTS)]
        inputs += [(PREDICTION + "Predict", random_predict(rng)) for _ in range(RANDOM_INPUTS)]
        for method, payload in inputs:
            code, details = _call(channel, method, payload)
            if code == "INTERNAL" and details == UNDECODABLE:
                code = "INTERNAL (undecodable bytes, grpcio)"
            elif code in ("INTERNAL", "UNKNOWN"):
                bad.append((method.rsplit("/", 1)[1], code, details[:200], payload[:80]))
            codes[code] += 1
        alive = prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(predict_request(), timeout=30)
    counts = f"{len(inputs)} inputs, status codes {dict(codes.most_common())}"
    print(f"\ngRPC fuzz: {counts}")
    assert not bad, f"{len(bad)} internal errors; {counts}; first: {bad[:5]}"
    assert alive.outputs["label"].string_val
