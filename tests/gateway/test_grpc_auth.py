"""The same keys for gRPC: the embedded server's interceptor asks the gateway's key check (as Envoy's ext_authz
does in front of tensorflow/serving); the official stubs pass the key as `authorization` metadata."""

from __future__ import annotations

import grpc
import pytest
import tensorflow as tf
from gateway_test_support import MODEL, RunningGateway, settings_for
from grpc_health.v1 import health_pb2, health_pb2_grpc
from tensorflow_serving.apis import (get_model_status_pb2, model_service_pb2_grpc, predict_pb2,
                                     prediction_service_pb2_grpc)


@pytest.fixture(scope="module")
def keyed_grpc(tiny_versions, backend_url, tmp_path_factory):
    """A gateway, and an embedded server whose gRPC calls it checks; yields (gateway, channel)."""
    from serving_test_support import install

    from serving import server
    from serving.config import ServedModel, ServerConfig

    root = tmp_path_factory.mktemp("grpc-auth")
    settings = settings_for(root, backend_url, model_name=MODEL, default_rate_per_second=1, default_burst=3)
    with RunningGateway(settings) as gateway:
        base = install(tiny_versions, root / MODEL, [1])
        config = ServerConfig(models=(ServedModel(MODEL, base),), host="127.0.0.1", port=0, rest_api_port=None,
                              file_system_poll_wait_seconds=0, grpc_auth_url=gateway.url + "/v1/authz")
        running = server.start(config)
        try:
            with grpc.insecure_channel(f"127.0.0.1:{running.grpc_port}") as channel:
                yield gateway, channel
        finally:
            running.stop()


def _predict(channel, key=None):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = MODEL
    request.inputs["text"].CopyFrom(tf.make_tensor_proto(["hello there", "こんにちは 世界"]))
    metadata = [("authorization", f"Bearer {key}")] if key else None
    return prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(request, timeout=10, metadata=metadata)


def _code(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as failure:
        call()
    return failure.value


def test_grpc_calls_need_a_key_with_the_right_scope(keyed_grpc):
    gateway, channel = keyed_grpc
    store = gateway.gateway.store
    predict_key = store.create("grpc-predict", ["predict"], "test")[1]
    read_key = store.create("grpc-read", ["read"], "test")[1]

    answer = _predict(channel, predict_key)
    assert tf.make_ndarray(answer.outputs["label"]).shape == (2,)

    missing = _code(lambda: _predict(channel))
    assert missing.code() == grpc.StatusCode.UNAUTHENTICATED and "Authorization" in missing.details()
    forged = _code(lambda: _predict(channel, predict_key[:-3] + "abc"))
    assert forged.code() == grpc.StatusCode.UNAUTHENTICATED and predict_key[:-3] not in forged.details()
    denied = _code(lambda: _predict(channel, read_key))
    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED and "predict" in denied.details()

    status = model_service_pb2_grpc.ModelServiceStub(channel).GetModelStatus(
        get_model_status_pb2.GetModelStatusRequest(model_spec={"name": MODEL}), timeout=10,
        metadata=[("authorization", f"Bearer {read_key}")])
    assert status.model_version_status[0].version == 1
    health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
    assert health.status == health_pb2.HealthCheckResponse.SERVING


def test_a_flooding_grpc_key_gets_resource_exhausted(keyed_grpc):
    gateway, channel = keyed_grpc
    flooder = gateway.gateway.store.create("grpc-flooder", ["predict"], "test")[1]
    polite = gateway.gateway.store.create("grpc-polite", ["predict"], "test")[1]
    codes = []
    for _ in range(8):
        try:
            _predict(channel, flooder)
            codes.append(grpc.StatusCode.OK)
        except grpc.RpcError as error:
            codes.append(error.code())
            details = error.details()
    assert codes[:3] == [grpc.StatusCode.OK] * 3 and grpc.StatusCode.RESOURCE_EXHAUSTED in codes
    assert "retry after" in details
    assert _predict(channel, polite).outputs["label"].tensor_shape.dim[0].size == 2
