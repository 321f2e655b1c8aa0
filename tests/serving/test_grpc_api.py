"""Every gRPC method of PredictionService, ModelService and grpc.health.v1, called with the official stubs."""

import grpc
import numpy as np
import pytest
import tensorflow as tf
from grpc_health.v1 import health_pb2, health_pb2_grpc
from tensorflow.core.example import example_pb2
from tensorflow_serving.apis import (classification_pb2, get_model_metadata_pb2, get_model_status_pb2,
                                     inference_pb2, input_pb2, model_management_pb2, predict_pb2, regression_pb2)

from serving.sample_model import LABELS, text_example
from serving_test_support import MODEL, SCORER

TEXTS = ["hello there", "una pizza margherita", "サッカーの試合"]
SERVING, NOT_SERVING = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING


def predict_request(texts=TEXTS, model=MODEL, version=None, label=None, signature="", key="text", dtype=tf.string):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    if version is not None:
        request.model_spec.version.value = version
    if label is not None:
        request.model_spec.version_label = label
    if signature:
        request.model_spec.signature_name = signature
    request.inputs[key].CopyFrom(tf.make_tensor_proto(texts, dtype=dtype))
    return request


def examples_input(texts=TEXTS):
    return input_pb2.Input(example_list=input_pb2.ExampleList(
        examples=[example_pb2.Example.FromString(text_example(t)) for t in texts]))


def rpc_error(call, *args, **kwargs) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call(*args, timeout=10, **kwargs)
    return caught.value


def test_predict_default_signature_returns_probabilities_and_labels(prediction_stub):
    response = prediction_stub.Predict(predict_request(), timeout=10)
    probabilities = tf.make_ndarray(response.outputs["probabilities"])
    labels = tf.make_ndarray(response.outputs["label"])
    assert probabilities.shape == (3, len(LABELS))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert [label.decode() for label in labels] == [LABELS[i] for i in probabilities.argmax(axis=1)]
    assert response.model_spec.name == MODEL
    assert response.model_spec.version.value == 2  # highest AVAILABLE version
    assert response.model_spec.signature_name == "serving_default"


def test_predict_by_version_and_by_label_reach_that_version(prediction_stub):
    by_version = prediction_stub.Predict(predict_request(version=1), timeout=10)
    by_label = prediction_stub.Predict(predict_request(label="stable"), timeout=10)
    latest = prediction_stub.Predict(predict_request(), timeout=10)
    assert by_version.model_spec.version.value == by_label.model_spec.version.value == 1
    np.testing.assert_array_equal(tf.make_ndarray(by_version.outputs["probabilities"]),
                                  tf.make_ndarray(by_label.outputs["probabilities"]))
    assert not np.allclose(tf.make_ndarray(by_version.outputs["probabilities"]),
                           tf.make_ndarray(latest.outputs["probabilities"]))


def test_predict_from_examples_signature_and_output_filter(prediction_stub):
    request = predict_request([text_example(t) for t in TEXTS], signature="from_examples", key="examples")
    request.output_filter.append("label")
    response = prediction_stub.Predict(request, timeout=10)
    assert list(response.outputs) == ["label"]
    direct = prediction_stub.Predict(predict_request(), timeout=10)
    assert list(response.outputs["label"].string_val) == list(direct.outputs["label"].string_val)


def test_classify_returns_every_class_with_its_score(prediction_stub):
    request = classification_pb2.ClassificationRequest(input=examples_input())
    request.model_spec.name, request.model_spec.signature_name = MODEL, "classify"
    response = prediction_stub.Classify(request, timeout=10)
    assert len(response.result.classifications) == 3
    for classification in response.result.classifications:
        assert [c.label for c in classification.classes] == list(LABELS)
        assert sum(c.score for c in classification.classes) == pytest.approx(1.0, rel=1e-5)
    assert response.model_spec.signature_name == "classify"


def test_classify_with_context_merges_context_features(prediction_stub):
    context = example_pb2.Example.FromString(text_example("ignored context"))
    request = classification_pb2.ClassificationRequest(input=input_pb2.Input(
        example_list_with_context=input_pb2.ExampleListWithContext(
            examples=[example_pb2.Example.FromString(text_example("hello there"))], context=context)))
    request.model_spec.name, request.model_spec.signature_name = MODEL, "classify"
    response = prediction_stub.Classify(request, timeout=10)
    assert len(response.result.classifications) == 1


def test_regress_on_a_regression_signature(prediction_stub):
    request = regression_pb2.RegressionRequest(input=examples_input())
    request.model_spec.name, request.model_spec.signature_name = SCORER, "regress"
    response = prediction_stub.Regress(request, timeout=10)
    values = [r.value for r in response.result.regressions]
    assert len(values) == 3 and all(1 / len(LABELS) <= v <= 1 for v in values)


def test_regress_on_a_model_without_regression_signature_is_a_clear_invalid_argument(prediction_stub):
    request = regression_pb2.RegressionRequest(input=examples_input())
    request.model_spec.name, request.model_spec.signature_name = MODEL, "classify"
    error = rpc_error(prediction_stub.Regress, request)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "Expected regression signature outputs to contain 'outputs'" in error.details()
    assert "classifier version 2" in error.details()


def test_multi_inference_runs_classify_and_regress_on_one_version(prediction_stub):
    request = inference_pb2.MultiInferenceRequest(input=examples_input())
    for signature, method in (("classify", "tensorflow/serving/classify"), ("regress", "tensorflow/serving/regress")):
        task = request.tasks.add(method_name=method)
        task.model_spec.name, task.model_spec.signature_name = SCORER, signature
    response = prediction_stub.MultiInference(request, timeout=10)
    assert len(response.results) == 2
    assert len(response.results[0].classification_result.classifications) == 3
    assert len(response.results[1].regression_result.regressions) == 3


def test_multi_inference_refuses_two_models(prediction_stub):
    request = inference_pb2.MultiInferenceRequest(input=examples_input())
    for model in (MODEL, SCORER):
        task = request.tasks.add(method_name="tensorflow/serving/classify")
        task.model_spec.name, task.model_spec.signature_name = model, "classify"
    error = rpc_error(prediction_stub.MultiInference, request)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "same model" in error.details()


def test_get_model_metadata_lists_the_signature_defs(prediction_stub):
    request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
    request.model_spec.name = MODEL
    response = prediction_stub.GetModelMetadata(request, timeout=10)
    signature_map = get_model_metadata_pb2.SignatureDefMap()
    response.metadata["signature_def"].Unpack(signature_map)
    signatures = signature_map.signature_def
    assert {"serving_default", "classify", "from_examples"} <= set(signatures)
    assert signatures["classify"].method_name == "tensorflow/serving/classify"
    assert set(signatures["serving_default"].outputs) == {"probabilities", "label"}
    assert response.model_spec.version.value == 2


def test_get_model_status_lists_versions_and_states(model_stub):
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = MODEL
    response = model_stub.GetModelStatus(request, timeout=10)
    states = {s.version: get_model_status_pb2.ModelVersionStatus.State.Name(s.state)
              for s in response.model_version_status}
    assert states == {1: "AVAILABLE", 2: "AVAILABLE"}
    request.model_spec.version_label = "canary"
    assert [s.version for s in model_stub.GetModelStatus(request, timeout=10).model_version_status] == [2]


def test_handle_reload_config_refuses_a_label_on_an_unloaded_version_and_changes_nothing(model_stub,
                                                                                          shared_server):
    request = model_management_pb2.ReloadConfigRequest()
    entry = request.config.model_config_list.config.add(name=MODEL, base_path=shared_server.config.models[0].base_path)
    entry.version_labels["stable"] = 9
    error = rpc_error(model_stub.HandleReloadConfigRequest, request)
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "version 9 of model classifier, which is not currently available" in error.details()
    assert shared_server.store.labels(MODEL) == {"stable": 1, "canary": 2}
    custom = model_management_pb2.ReloadConfigRequest()
    custom.config.custom_model_config.type_url = "x"
    assert rpc_error(model_stub.HandleReloadConfigRequest, custom).code() == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize("spec, code, words", [
    (dict(name="nope"), grpc.StatusCode.NOT_FOUND, "nope"),
    (dict(name=MODEL, version=9), grpc.StatusCode.NOT_FOUND, "Specific(classifier, 9)"),
    (dict(name=MODEL, label="gold"), grpc.StatusCode.INVALID_ARGUMENT, "Unrecognized servable version label: gold"),
])
def test_unknown_model_version_or_label(prediction_stub, model_stub, spec, code, words):
    request = predict_request(model=spec["name"], version=spec.get("version"), label=spec.get("label"))
    error = rpc_error(prediction_stub.Predict, request)
    assert error.code() == code and words in error.details()
    status_request = get_model_status_pb2.GetModelStatusRequest(model_spec=request.model_spec)
    assert rpc_error(model_stub.GetModelStatus, status_request).code() in (grpc.StatusCode.NOT_FOUND,
                                                                           grpc.StatusCode.INVALID_ARGUMENT)


@pytest.mark.parametrize("make, words", [
    (lambda: predict_request([1.5, 2.5], dtype=tf.float32), "expects DT_STRING, got DT_FLOAT"),
    (lambda: predict_request("a scalar"), "expects shape [?], got a scalar"),
    (lambda: predict_request([[]]), "expects shape [?], got [1, 0]"),  # both abort TF Text's tokenizer
    (lambda: predict_request(["x"] * 65), "exceeds the limit of 64"),
    (lambda: predict_request([b"caf\xe9 latin-1"]), "not valid UTF-8"),
    (lambda: predict_request([b"ok", b"\xc3", b"\xa9"]), "element 1 is not valid UTF-8"),  # "é" split in two
    (lambda: predict_request(key="texts"), "Missing but required: {text}"),
    (lambda: predict_request(signature="nope"), "Serving signature name: \"nope\" not found"),
])
def test_bad_predict_inputs_are_invalid_argument_and_server_stays_up(prediction_stub, make, words):
    error = rpc_error(prediction_stub.Predict, make())
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert words in error.details()
    assert prediction_stub.Predict(predict_request(), timeout=10).outputs["label"].string_val


def test_message_over_the_size_limit_is_resource_exhausted(prediction_stub):
    error = rpc_error(prediction_stub.Predict, predict_request(["x" * (1 << 20)]))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_health_check_and_watch(channel, shared_server):
    stub = health_pb2_grpc.HealthStub(channel)
    assert stub.Check(health_pb2.HealthCheckRequest(), timeout=5).status == SERVING
    assert stub.Check(health_pb2.HealthCheckRequest(service=MODEL), timeout=5).status == SERVING
    with pytest.raises(grpc.RpcError) as caught:
        stub.Check(health_pb2.HealthCheckRequest(service="nope"), timeout=5)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    stream = stub.Watch(health_pb2.HealthCheckRequest(), timeout=5)
    assert next(stream).status == SERVING
    stream.cancel()
