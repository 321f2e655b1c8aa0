"""Version changes while requests keep coming: a new version swap, and promote / canary / rollback of `stable`,
each under sustained gRPC + REST load with zero failed requests."""

import collections
import json
import os
import threading

import grpc
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

from serving import cli, server
from serving.config import ServedModel, ServerConfig, VersionPolicy
from serving.model_store import State
from serving_test_support import MODEL, Http, install, wait_for


class Load:
    """Client threads sending predicts (gRPC and REST) until stopped; counts answers per version and failures."""

    def __init__(self, srv, label=None, threads=3):
        self.srv, self.label = srv, label
        self.versions = collections.Counter()
        self.failures = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._grpc_loop, daemon=True) for _ in range(threads - 1)]
        self._threads.append(threading.Thread(target=self._rest_loop, daemon=True))

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        wait_for(lambda: sum(self.versions.values()) > 10, what="load to start")
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def seen(self, version, count=5):
        return self.versions[version] >= count

    def _record(self, version=None, failure=None):
        with self._lock:
            if failure is not None:
                self.failures.append(failure)
            else:
                self.versions[version] += 1

    def _grpc_loop(self):
        request = predict_pb2.PredictRequest()
        request.model_spec.name = MODEL
        if self.label:
            request.model_spec.version_label = self.label
        request.inputs["text"].CopyFrom(tf.make_tensor_proto(["hello there", "ciao"], dtype=tf.string))
        with grpc.insecure_channel(f"localhost:{self.srv.grpc_port}") as channel:
            stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
            while not self._stop.is_set():
                try:
                    self._record(stub.Predict(request, timeout=30).model_spec.version.value)
                except grpc.RpcError as error:
                    self._record(failure=f"gRPC {error.code().name}: {error.details()}")

    def _rest_loop(self):
        client = Http(self.srv.rest_port)
        path = f"/v1/models/{MODEL}" + (f"/labels/{self.label}" if self.label else "") + ":predict"
        while not self._stop.is_set():
            try:
                status, body = client.call("POST", path, {"instances": ["hello there"]})
            except OSError as error:
                status, body = 0, {"error": str(error)}
            if status == 200:
                self._record("rest")
            else:
                self._record(failure=f"REST {status}: {body}")


def test_new_version_swaps_in_under_load_without_a_failed_request(exported, tmp_path):
    base = install(exported, tmp_path / MODEL, [1])
    config = ServerConfig(models=(ServedModel(MODEL, base),), host="localhost", port=0, rest_api_port=0,
                          file_system_poll_wait_seconds=0.1)
    with server.start(config) as srv, Load(srv) as load:
        install(exported, tmp_path / MODEL, [2])
        wait_for(lambda: load.seen(2), what="answers from version 2")
        wait_for(lambda: {s.version: s.state for s in srv.store.status(MODEL)} == {1: State.END, 2: State.AVAILABLE},
                 what="version 1 unloaded")
    assert load.failures == []
    assert load.seen(1) and load.seen(2) and load.versions["rest"] > 0


def test_promote_canary_and_rollback_move_stable_under_load_without_a_failed_request(exported, tmp_path):
    base = install(exported, tmp_path / MODEL, [1, 2, 3])
    config_file = str(tmp_path / "models.config")
    with open(config_file, "w") as handle:
        handle.write(f'model_config_list {{ config {{ name: "{MODEL}" base_path: "{base}" model_platform: '
                     '"tensorflow" model_version_policy { specific { versions: 1 } } '
                     'version_labels { key: "stable" value: 1 } } }')
    config = ServerConfig(models=(ServedModel(MODEL, base, VersionPolicy("specific", versions=(1,)),
                                              (("stable", 1),)),),
                          host="localhost", port=0, rest_api_port=0, file_system_poll_wait_seconds=0.2,
                          model_config_file=config_file)
    with server.start(config) as srv, Load(srv, label="stable") as load:
        flags = ["--model_config_file", config_file, "--server", f"localhost:{srv.grpc_port}", "--timeout", "60"]
        assert cli.canary_main(flags + ["--version", "2"]) == 0
        assert srv.store.labels(MODEL) == {"stable": 1, "canary": 2}
        assert cli.promote_main(flags) == 0  # promotes the canary
        wait_for(lambda: load.seen(2), what="stable answers from version 2")
        assert srv.store.labels(MODEL) == {"stable": 2}
        assert cli.promote_main(flags + ["--version", "3"]) == 0
        wait_for(lambda: load.seen(3), what="stable answers from version 3")
        assert cli.rollback_main(flags) == 0  # back to 2, the version stable left
        assert srv.store.labels(MODEL) == {"stable": 2}
        before = load.versions[2]
        wait_for(lambda: load.versions[2] > before + 5, what="stable answers from version 2 again")
    assert load.failures == []
    with open(config_file + ".audit.jsonl") as handle:
        records = [json.loads(line) for line in handle]
    assert [(r["action"], r["moves"][0]["from_version"], r["moves"][0]["to_version"]) for r in records] == [
        ("canary", None, 2), ("promote", 1, 2), ("promote", 2, 3), ("rollback", 3, 2)]
    assert all(r["user"] and r["time"] for r in records)


def test_config_file_polling_applies_a_label_once_its_version_is_available(exported, tmp_path):
    base = install(exported, tmp_path / MODEL, [1, 2])
    config_file = tmp_path / "models.config"
    template = ('model_config_list {{ config {{ name: "{name}" base_path: "{base}" model_version_policy '
                '{{ specific {{ {versions} }} }} version_labels {{ key: "stable" value: {stable} }} }} }}')
    config_file.write_text(template.format(name=MODEL, base=base, versions="versions: 1", stable=1))
    config = ServerConfig(models=(ServedModel(MODEL, base, VersionPolicy("specific", versions=(1,)),
                                              (("stable", 1),)),),
                          host="localhost", port=0, rest_api_port=None, file_system_poll_wait_seconds=0.1,
                          model_config_file=str(config_file), model_config_file_poll_wait_seconds=0.1)
    with server.start(config) as srv:
        # One edit asks for version 2 and the label at once: refused until 2 is AVAILABLE, then applied.
        config_file.write_text(template.format(name=MODEL, base=base, versions="versions: 1 versions: 2",
                                               stable=2))
        wait_for(lambda: srv.store.labels(MODEL) == {"stable": 2}, what="label applied from the polled file")
        assert {s.version: s.state for s in srv.store.status(MODEL)}[2] is State.AVAILABLE
        assert os.path.exists(config_file)
