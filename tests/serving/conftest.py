"""Fixtures for the serving tests: tiny exported versions, base paths, a shared in-process server and helpers.

Every server here is the real one, started in-process on free ports; tests talk to it with the official
tensorflow_serving.apis stubs and over real HTTP.
"""

from __future__ import annotations

import os

import grpc
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from serving_test_support import MODEL, SCORER, Http, install  # noqa: E402
from tensorflow_serving.apis import model_service_pb2_grpc, prediction_service_pb2_grpc  # noqa: E402

from serving import sample_model as serving_test_model  # noqa: E402
from serving import server  # noqa: E402
from serving.config import ServedModel, ServerConfig, VersionPolicy  # noqa: E402


@pytest.fixture(scope="session")
def exported(tmp_path_factory):
    """Version dirs exported once: classifier versions 1..3 (different seeds) and a scorer with `regress`."""
    root = tmp_path_factory.mktemp("exports")
    dirs = {v: serving_test_model.export_test_model(str(root / f"classifier-{v}"), seed=v, model_name=MODEL,
                                                    version=v) for v in (1, 2, 3)}
    dirs["scorer"] = serving_test_model.export_test_model(str(root / "scorer-1"), seed=7, model_name=SCORER,
                                                          regression=True)
    return dirs


@pytest.fixture(scope="session")
def shared_server(exported, tmp_path_factory):
    """Classifier versions 1 and 2 (labels stable=1, canary=2) and the scorer; read-only tests share it."""
    root = tmp_path_factory.mktemp("shared")
    classifier = install(exported, root / MODEL, [1, 2])
    scorer = install(exported, root / SCORER, [1], source="scorer")
    config = ServerConfig(
        models=(ServedModel(MODEL, classifier, VersionPolicy("all"), (("canary", 2), ("stable", 1))),
                ServedModel(SCORER, scorer)),
        host="localhost", port=0, rest_api_port=0, file_system_poll_wait_seconds=0,
        prometheus_path="/monitoring/prometheus/metrics", max_request_batch=64, max_request_bytes=1 << 20)
    running = server.start(config)
    yield running
    running.stop()


@pytest.fixture(scope="session")
def channel(shared_server):
    with grpc.insecure_channel(f"localhost:{shared_server.grpc_port}") as opened:
        yield opened


@pytest.fixture(scope="session")
def prediction_stub(channel):
    return prediction_service_pb2_grpc.PredictionServiceStub(channel)


@pytest.fixture(scope="session")
def model_stub(channel):
    return model_service_pb2_grpc.ModelServiceStub(channel)


@pytest.fixture
def rest(shared_server):
    return Http(shared_server.rest_port)
