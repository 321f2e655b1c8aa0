"""Warmup: the PredictionLog records of assets.extra/tf_serving_warmup_requests run before a version is AVAILABLE."""

import os
import shutil

import pytest

from serving import server
from serving.config import ServedModel, ServerConfig
from serving.model_store import State
from serving.sample_model import write_warmup_requests
from serving_test_support import MODEL, install


def start(base, **overrides):
    return server.start(ServerConfig(models=(ServedModel(MODEL, base),), host="localhost", port=0,
                                     rest_api_port=None, file_system_poll_wait_seconds=0, **overrides))


def warmup_count(srv, base, version, status="OK"):
    return srv.metrics.sample_value(":tensorflow:serving:model_warmup_latency_count",
                                    model_path=os.path.join(base, str(version)), status=status)


def test_warmup_records_replay_before_the_version_is_available(exported, tmp_path):
    base = install(exported, tmp_path / MODEL, [1])
    with start(base, num_request_iterations_for_warmup=2) as srv:
        assert srv.store.status(MODEL)[0].state is State.AVAILABLE
        assert warmup_count(srv, base, 1) == 1
        # 2 records (predict + classify) x 2 iterations ran on the loading version, outside request metrics.
        assert srv.metrics.sample_value(":tensorflow:serving:runtime_latency_count", model_name=MODEL,
                                        API="Predict", runtime="TF2") == 2
        assert srv.metrics.sample_value(":tensorflow:serving:request_count_total", model_name=MODEL,
                                        status="OK") == 0


@pytest.mark.parametrize("break_warmup, words", [
    (lambda path: write_warmup_requests(path, MODEL, signature="no_such_signature"), "no_such_signature"),
    (lambda path: open(path, "wb").write(b"\x00" * 40), "not a readable TFRecord"),
])
def test_a_version_whose_warmup_fails_never_becomes_available(exported, tmp_path, break_warmup, words):
    base = install(exported, tmp_path / MODEL, [1])
    break_warmup(os.path.join(base, "1", "assets.extra", "tf_serving_warmup_requests"))
    with start(base, max_num_load_retries=0) as srv:
        (status,) = srv.store.status(MODEL)
        assert status.state is State.END and "warmup" in status.error.message and words in status.error.message
        assert not srv.store.ready()


def test_warmup_can_be_turned_off_and_a_missing_file_is_fine(exported, tmp_path):
    base = install(exported, tmp_path / MODEL, [1])
    shutil.rmtree(os.path.join(base, "1", "assets.extra"))
    with start(base) as srv:
        assert srv.store.ready() and warmup_count(srv, base, 1) == 0
    base2 = install(exported, tmp_path / "other", [1])
    with start(base2, enable_model_warmup=False) as srv:
        assert srv.store.ready() and warmup_count(srv, base2, 1) == 0
