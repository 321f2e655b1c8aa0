"""Versions on disk, policies, labels, load failures and retries, polling: the store behind a real server."""

import os

import grpc
import pytest
import tensorflow as tf
from grpc_health.v1 import health_pb2, health_pb2_grpc
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

from serving import server
from serving.config import ServedModel, ServerConfig, VersionPolicy
from serving.errors import FailedPrecondition, NotFound
from serving.layout import versions_on_disk
from serving.model_store import State
from serving_test_support import MODEL, install, wait_for

SERVING, NOT_SERVING = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING


def states(srv, model=MODEL):
    return {s.version: s.state for s in srv.store.status(model)}


def start(base_path, policy=VersionPolicy(), labels=(), **overrides):
    defaults = dict(host="localhost", port=0, rest_api_port=None, file_system_poll_wait_seconds=0)
    return server.start(ServerConfig(models=(ServedModel(MODEL, str(base_path), policy, labels),),
                                     **{**defaults, **overrides}))


def predict_version(srv, version=None, label=None):
    with grpc.insecure_channel(f"localhost:{srv.grpc_port}") as channel:
        request = predict_pb2.PredictRequest()
        request.model_spec.name = MODEL
        if version is not None:
            request.model_spec.version.value = version
        if label:
            request.model_spec.version_label = label
        request.inputs["text"].CopyFrom(tf.make_tensor_proto(["hello"], dtype=tf.string))
        response = prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(request, timeout=10)
        return response.model_spec.version.value


@pytest.mark.parametrize("policy, on_disk, aspired", [
    (VersionPolicy(), [1, 5, 3], (5,)),
    (VersionPolicy("latest", 2), [1, 5, 3], (5, 3)),
    (VersionPolicy("all"), [1, 5, 3], (5, 3, 1)),
    (VersionPolicy("specific", versions=(1, 4)), [1, 5, 3], (1,)),
])
def test_version_policies_pick_aspired_versions(policy, on_disk, aspired):
    assert policy.select(on_disk) == aspired


def test_integer_dirs_with_a_saved_model_are_versions(exported, tmp_path):
    base = install(exported, tmp_path / MODEL, [1, 2])
    os.makedirs(os.path.join(base, "3", "variables"))  # a copy still in progress: no saved_model.pb yet
    os.makedirs(os.path.join(base, "tmp-upload"))
    with start(base, VersionPolicy("all")) as srv:
        assert states(srv) == {1: State.AVAILABLE, 2: State.AVAILABLE}
        assert predict_version(srv) == 2


def test_only_ascii_digit_names_are_versions(tmp_path):
    for name in ("7", "０２", "2²", "٣", "2.tmp", "-2"):  # full-width 02, superscript 2, Arabic-Indic 3
        os.makedirs(tmp_path / name)
        (tmp_path / name / "saved_model.pb").write_bytes(b"")
    assert versions_on_disk(str(tmp_path)) == {7: str(tmp_path / "7")}


def test_a_version_that_fails_to_load_shows_its_error_and_never_serves(exported, tmp_path):
    base = install(exported, tmp_path / MODEL, [1])
    broken = os.path.join(base, "2")
    os.makedirs(broken)
    with open(os.path.join(broken, "saved_model.pb"), "wb") as handle:
        handle.write(b"not a protobuf")
    with start(base, VersionPolicy("all"), max_num_load_retries=2, load_retry_interval_seconds=0.01) as srv:
        status = {s.version: s for s in srv.store.status(MODEL)}
        assert status[2].state is State.END
        assert "Loading servable: {name: classifier version: 2} failed" in status[2].error.message
        assert status[1].state is State.AVAILABLE
        assert predict_version(srv) == 1  # the failed version is never routed to
        with pytest.raises(grpc.RpcError) as caught:
            predict_version(srv, version=2)
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND and "is END" in caught.value.details()
        assert srv.store.ready()  # version 1 is AVAILABLE, so the model is ready


def test_load_retries_pick_up_a_version_that_becomes_loadable(exported, tmp_path):
    base = install(exported, tmp_path / MODEL, [1])
    version_dir = os.path.join(base, "2")
    os.makedirs(version_dir)
    with open(os.path.join(version_dir, "saved_model.pb"), "wb") as handle:
        handle.write(b"half-written")
    with start(base, VersionPolicy("all"), max_num_load_retries=50, load_retry_interval_seconds=0.1,
               initial_load_timeout_seconds=0.5) as srv:
        os.remove(os.path.join(version_dir, "saved_model.pb"))
        os.rmdir(version_dir)
        install(exported, tmp_path / MODEL, [2])
        wait_for(lambda: states(srv).get(2) is State.AVAILABLE, what="version 2 after a retry")


def _overall_health(stub) -> int:
    return stub.Check(health_pb2.HealthCheckRequest(), timeout=5).status


def test_health_follows_availability(exported, tmp_path):
    os.makedirs(tmp_path / MODEL)
    with start(tmp_path / MODEL, initial_load_timeout_seconds=0.5, file_system_poll_wait_seconds=0.05) as srv:
        with grpc.insecure_channel(f"localhost:{srv.grpc_port}") as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            watch = stub.Watch(health_pb2.HealthCheckRequest(service=MODEL), timeout=60)
            assert next(watch).status == NOT_SERVING
            assert _overall_health(stub) == NOT_SERVING
            install(exported, tmp_path / MODEL, [1])
            assert next(watch).status == SERVING
            wait_for(lambda: _overall_health(stub) == SERVING, what='"" SERVING')  # set after the model's
            srv.store.reload([])
            assert next(watch).status == NOT_SERVING
            wait_for(lambda: _overall_health(stub) == SERVING, what='"" SERVING with no model left')
            watch.cancel()


def test_polling_finds_a_new_version_and_unloads_the_old_one(exported, tmp_path):
    base = install(exported, tmp_path / MODEL, [1])
    with start(base, file_system_poll_wait_seconds=0.1) as srv:
        assert predict_version(srv) == 1
        install(exported, tmp_path / MODEL, [2])
        wait_for(lambda: states(srv) == {1: State.END, 2: State.AVAILABLE}, what="swap to version 2")
        assert predict_version(srv) == 2


def test_old_version_keeps_serving_when_the_new_one_fails(exported, tmp_path):
    base = install(exported, tmp_path / MODEL, [1])
    with start(base, file_system_poll_wait_seconds=0.1, max_num_load_retries=0) as srv:
        broken = os.path.join(base, "2")
        os.makedirs(broken)
        with open(os.path.join(broken, "saved_model.pb"), "wb") as handle:
            handle.write(b"garbage")
        wait_for(lambda: states(srv).get(2) is State.END, what="version 2 to fail")
        assert states(srv)[1] is State.AVAILABLE and predict_version(srv) == 1


def test_labels_follow_tf_serving_rules(exported, tmp_path):
    base = install(exported, tmp_path / MODEL, [1, 2, 3])
    with start(base, VersionPolicy("specific", versions=(1, 2)), labels=(("stable", 1),)) as srv:
        assert predict_version(srv, label="stable") == 1
        model = ServedModel(MODEL, base, VersionPolicy("specific", versions=(1, 2)), (("stable", 3),))
        with pytest.raises(FailedPrecondition, match="version 3 of model classifier, which is not currently "
                                                     "available for inference"):
            srv.store.reload([model])
        assert predict_version(srv, label="stable") == 1  # a refused config changes nothing
        srv.store.reload([ServedModel(MODEL, base, VersionPolicy("specific", versions=(1, 2)), (("stable", 2),))])
        assert predict_version(srv, label="stable") == 2


def test_new_labels_on_unavailable_versions_with_the_upstream_flag(exported, tmp_path):
    base = install(exported, tmp_path / MODEL, [1, 2])
    with start(base, VersionPolicy("specific", versions=(1,)),
               allow_version_labels_for_unavailable_models=True) as srv:
        srv.store.reload([ServedModel(MODEL, base, VersionPolicy("specific", versions=(1, 2)), (("canary", 2),))])
        wait_for(lambda: states(srv).get(2) is State.AVAILABLE, what="version 2")
        assert predict_version(srv, label="canary") == 2


def test_reload_without_a_model_unloads_it(exported, tmp_path):
    base = install(exported, tmp_path / MODEL, [1])
    with start(base) as srv:
        srv.store.reload([])
        wait_for(lambda: states(srv) == {1: State.END}, what="unload")
        with pytest.raises(NotFound):
            srv.store.acquire(MODEL)
        assert srv.store.ready()  # no configured model is waiting
