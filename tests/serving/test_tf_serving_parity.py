"""Requests that tensorflow_model_server answers, answered the same way (official stubs, real HTTP).

Each test is one documented upstream behaviour: tensors fed as sent (the graph judges shapes), Classify/Regress on
TF2 exports marked predict unless --enable_signature_method_name_check, graph-mode SavedModels loaded into a
Session, REST metadata printed with default-valued fields, a failing model not holding the ports closed, and
models using TF Text ops.
"""

import os

import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.framework import types_pb2
from tensorflow_serving.apis import (classification_pb2, get_model_status_pb2, inference_pb2,
                                     model_service_pb2_grpc, predict_pb2, prediction_service_pb2_grpc,
                                     regression_pb2)

import parity_models
from parity_models import VERSION
from serving import server
from serving.config import ServedModel, ServerConfig
from serving.model_store import State
from serving_test_support import Http

IN_PROCESS = dict(host="localhost", port=0, rest_api_port=0, file_system_poll_wait_seconds=0)


@pytest.fixture(scope="module")
def half_plus_two(tmp_path_factory):
    return parity_models.export_half_plus_two_tf2(str(tmp_path_factory.mktemp("half_plus_two")))


@pytest.fixture(scope="module")
def served(half_plus_two):
    with server.serve_model("default", half_plus_two) as srv:
        yield srv


def stub(srv):
    return prediction_service_pb2_grpc.PredictionServiceStub(grpc.insecure_channel(f"localhost:{srv.grpc_port}"))


def predict_x(values, shape, signature=""):
    request = predict_pb2.PredictRequest()
    request.model_spec.name, request.model_spec.signature_name = "default", signature
    request.inputs["x"].CopyFrom(tf.make_tensor_proto(np.array(values, np.float32).reshape(shape)))
    return request


def test_rest_predict_feeds_the_tensor_as_sent_whatever_the_signature_shape(served):
    rest = Http(served.rest_port)
    assert rest.call("POST", "/v1/models/default:predict", {"instances": [1.0, 2.0, 5.0]}) == (
        200, {"predictions": [2.5, 3.0, 4.5]})
    assert rest.call("POST", "/v1/models/default:predict", {"inputs": [1.0, 2.0, 5.0]}) == (
        200, {"outputs": [2.5, 3.0, 4.5]})


def test_grpc_predict_feeds_a_rank_one_tensor_to_a_rank_two_signature(served):
    response = stub(served).Predict(predict_x([2.0], [1]), timeout=10)
    assert response.outputs["y"].dtype == types_pb2.DT_FLOAT and list(response.outputs["y"].float_val) == [3.0]
    assert response.model_spec.version.value == VERSION and response.model_spec.signature_name == "serving_default"


def test_a_shape_the_graph_refuses_is_invalid_argument_with_the_graphs_message(served):
    with pytest.raises(grpc.RpcError) as caught:
        stub(served).Predict(predict_x([1.0, 2.0, 3.0], [3], signature="pairs"), timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "Invalid reduction dimension (1 for input with 1 dimension(s)" in caught.value.details()
    assert "model default version 123" in caught.value.details()


def classify_request(signature="classify_x_to_y"):
    request = classification_pb2.ClassificationRequest()
    request.model_spec.name, request.model_spec.signature_name = "default", signature
    request.input.example_list.examples.add().features.feature["x"].float_list.value.append(2.0)
    return request


def regress_request():
    request = regression_pb2.RegressionRequest()
    request.model_spec.name, request.model_spec.signature_name = "default", "regress_x_to_y"
    request.input.example_list.examples.add().features.feature["x"].float_list.value.append(2.0)
    return request


def test_classify_regress_and_multi_inference_run_tf2_signatures_marked_predict(served):
    prediction = stub(served)
    classes = prediction.Classify(classify_request(), timeout=10).result.classifications
    assert [(c.label, c.score) for c in classes[0].classes] == [("", 3.0)]
    assert [r.value for r in prediction.Regress(regress_request(), timeout=10).result.regressions] == [3.0]
    request = inference_pb2.MultiInferenceRequest()
    for signature, method in (("regress_x_to_y", "regress"), ("classify_x_to_y", "classify")):
        task = request.tasks.add(method_name=f"tensorflow/serving/{method}")
        task.model_spec.name, task.model_spec.signature_name = "default", signature
    request.input.example_list.examples.add().features.feature["x"].float_list.value.append(2.0)
    results = prediction.MultiInference(request, timeout=10).results
    assert results[0].regression_result.regressions[0].value == 3.0
    assert results[1].classification_result.classifications[0].classes[0].score == 3.0
    assert [r.model_spec.signature_name for r in results] == ["regress_x_to_y", "classify_x_to_y"]


def test_classify_needs_the_structure_even_without_the_method_name_check(served):
    with pytest.raises(grpc.RpcError) as caught:
        stub(served).Classify(classify_request(signature="serving_default"), timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "serialized tf.Examples (DT_STRING), got DT_FLOAT" in caught.value.details()


def test_enable_signature_method_name_check_refuses_signatures_marked_predict(half_plus_two):
    with server.serve_model("default", half_plus_two, enable_signature_method_name_check=True) as srv:
        with pytest.raises(grpc.RpcError) as caught:
            stub(srv).Regress(regress_request(), timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert ("Expected regression signature method_name to be tensorflow/serving/regress. Was: "
            "tensorflow/serving/predict") in caught.value.details()


def test_rest_metadata_prints_default_valued_fields(served):
    status, body = Http(served.rest_port).call("GET", "/v1/models/default/metadata")
    assert status == 200 and body["model_spec"] == {"name": "default", "signature_name": "", "version": "123"}
    signature = body["metadata"]["signature_def"]["signature_def"]["serving_default"]
    x = signature["inputs"]["x"]
    assert x["tensor_shape"] == {"dim": [{"size": "-1", "name": ""}, {"size": "1", "name": ""}],
                                 "unknown_rank": False}
    assert x["dtype"] == "DT_FLOAT" and x["name"].startswith("serving_default_x")
    assert signature["method_name"] == "tensorflow/serving/predict" and signature["defaults"] == {}


def test_a_graph_mode_saved_model_the_tf2_loader_refuses_is_served_from_a_session(tmp_path):
    base = parity_models.export_half_plus_three_tf1(str(tmp_path / "half_plus_three"))
    with pytest.raises(ValueError):
        tf.saved_model.load(os.path.join(base, str(VERSION)))  # what the Session fallback is for
    with server.serve_model("half_plus_three", base) as srv:
        request = predict_x([2.0], [1, 1])
        request.model_spec.name = "half_plus_three"
        response = stub(srv).Predict(request, timeout=10)
        assert list(response.outputs["y"].float_val) == [4.0]
        assert Http(srv.rest_port).call("POST", "/v1/models/half_plus_three:predict",
                                        {"instances": [1.0, 2.0, 5.0]}) == (200, {"predictions": [3.5, 4.0, 5.5]})


def test_a_model_failing_to_load_at_start_does_not_keep_the_ports_closed(half_plus_two, tmp_path):
    broken = tmp_path / "broken" / "1"
    broken.mkdir(parents=True)
    (broken / "saved_model.pb").write_bytes(b"not a SavedModel")
    config = ServerConfig(models=(ServedModel("default", half_plus_two), ServedModel("broken", str(broken.parent))),
                          max_num_load_retries=5, load_retry_interval_seconds=600, **IN_PROCESS)
    with server.start(config) as srv:
        # Upstream's retries would take 50 minutes here; the server is up after the first attempt.
        assert list(stub(srv).Predict(predict_x([2.0], [1]), timeout=10).outputs["y"].float_val) == [3.0]
        models = model_service_pb2_grpc.ModelServiceStub(grpc.insecure_channel(f"localhost:{srv.grpc_port}"))
        request = get_model_status_pb2.GetModelStatusRequest()
        request.model_spec.name = "broken"
        (status,) = models.GetModelStatus(request, timeout=10).model_version_status
        assert status.state == State.LOADING.value and status.status.error_code != 0
        assert "Loading servable: {name: broken version: 1} failed" in status.status.error_message


def test_a_model_using_tf_text_ops_is_served(tmp_path):
    base = parity_models.export_tf_text_ops(str(tmp_path / "tf_text"))
    with server.serve_model("default", base) as srv:
        response = stub(srv).Predict(predict_x([2.0], [1]), timeout=60)
    assert list(response.outputs["y"].float_val) == [3.0] and response.model_spec.version.value == 1
