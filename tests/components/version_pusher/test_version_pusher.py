"""VersionPusher: numbered atomic pushes with warmup and metadata, and refusals that leave versions alone."""

import hashlib
import json
import os

import pytest
import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2
from tfx.types import standard_artifacts

from components.version_pusher import push
from components.version_pusher.executor import Executor
from tiny_model import LABELS, export_untrained, write_raw_examples

TEXTS = {"en": ["pizza bread soup", "football goal"], "it": ["banca soldi", "calcio gol"]}


@pytest.fixture(scope="module")
def model_dir(tiny_corpus, tmp_path_factory):
    return export_untrained(tiny_corpus, tmp_path_factory.mktemp("candidate") / "model")


def _fingerprint(folder):
    digest = hashlib.sha256()
    for root, dirs, names in sorted(os.walk(folder)):
        dirs.sort()
        for name in sorted(names):
            path = os.path.join(root, name)
            digest.update(path.encode() + open(path, "rb").read())
    return digest.hexdigest()


def test_versions_are_consecutive_with_warmup_and_metadata(model_dir, tmp_path):
    root = str(tmp_path / "serving")
    warmup = push.warmup_requests(TEXTS, "topics")
    first = push.push_version(model_dir, root, "topics", warmup, {"run_id": "r1", "labels": list(LABELS)})
    second = push.push_version(model_dir, root, "topics", warmup, {"run_id": "r2", "labels": list(LABELS)})

    assert (first["version"], second["version"]) == (1, 2)
    assert sorted(os.listdir(os.path.join(root, "topics"))) == ["1", "2"]  # no staging left behind
    version = os.path.join(root, "topics", "2")
    with open(os.path.join(version, "assets.extra", "nlp2prod_metadata.json")) as f:
        metadata = json.load(f)
    assert metadata["version"] == 2 and metadata["run_id"] == "r2" and metadata["model_name"] == "topics"
    assert metadata["saved_model_bytes"] > 0 and metadata["pushed_at"].endswith("+00:00")
    records = [prediction_log_pb2.PredictionLog.FromString(r.numpy()) for r in
               tf.data.TFRecordDataset(os.path.join(version, "assets.extra", "tf_serving_warmup_requests"))]
    assert len(records) == 4
    assert records[0].predict_log.request.model_spec.signature_name == "serving_default"
    assert tf.make_ndarray(records[1].predict_log.request.inputs["text"]).tolist() == [b"banca soldi", b"calcio gol"]


def test_pushed_version_loads_and_warms_up_in_the_server(model_dir, tmp_path):
    from serving import server
    from serving.dataplane import ModelRef
    root = str(tmp_path / "serving")
    push.push_version(model_dir, root, "topics", push.warmup_requests(TEXTS, "topics"), {})
    with server.serve_model("topics", os.path.join(root, "topics"), rest_api_port=None) as srv:
        statuses = srv.plane.status(ModelRef("topics"))
        assert [(s.version, s.state.name, s.error) for s in statuses] == [(1, "AVAILABLE", None)]
        exposition = srv.metrics.exposition().decode()
    # A version whose warmup replay fails never becomes AVAILABLE; the replay is recorded with status OK.
    assert any("model_warmup_latency" in line and 'status="OK"' in line for line in exposition.splitlines())


def test_a_failed_push_leaves_the_previous_version_untouched(model_dir, tmp_path):
    root = str(tmp_path / "serving")
    push.push_version(model_dir, root, "topics", [], {})
    before = _fingerprint(os.path.join(root, "topics"))

    def broken_warmup():
        yield push.warmup_requests(TEXTS, "topics")[0]
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        push.push_version(model_dir, root, "topics", broken_warmup(), {})
    assert os.listdir(os.path.join(root, "topics")) == ["1"]
    assert _fingerprint(os.path.join(root, "topics")) == before


def _artifacts(tmp_path, model_dir, corpus, model_blessed, infra_blessed, problems=(), model_folder="model"):
    model = standard_artifacts.Model()
    model.uri = str(tmp_path / model_folder)
    os.makedirs(model.uri, exist_ok=True)
    if not os.path.exists(os.path.join(model.uri, "Format-Serving")):
        os.symlink(model_dir, os.path.join(model.uri, "Format-Serving"))
    examples = standard_artifacts.Examples()
    examples.uri, examples.split_names = str(tmp_path / "examples"), '["eval"]'
    examples.span = 3
    os.makedirs(os.path.join(examples.uri, "Split-eval"), exist_ok=True)
    write_raw_examples(corpus.eval_rows, os.path.join(examples.uri, "Split-eval", "data.gz"))
    model_blessing, infra = standard_artifacts.ModelBlessing(), standard_artifacts.InfraBlessing()
    model_blessing.uri, infra.uri = str(tmp_path / "model_blessing"), str(tmp_path / "infra")
    model_blessing.set_int_custom_property("blessed", int(model_blessed))
    infra.set_int_custom_property("blessed", int(infra_blessed))
    os.makedirs(infra.uri, exist_ok=True)
    with open(os.path.join(infra.uri, "serving_check.json"), "w") as f:
        json.dump({"blessed": infra_blessed, "problems": list(problems)}, f)
    return {"model": [model], "model_blessing": [model_blessing], "infra_blessing": [infra],
            "examples": [examples]}


def _run(tmp_path, inputs, root, name):
    pushed = standard_artifacts.PushedModel()
    pushed.uri = str(tmp_path / f"pushed-{name}")
    Executor().Do(inputs, {"pushed_model": [pushed]},
                  {"serving_root": root, "model_name": "topics", "labels": json.dumps(list(LABELS)),
                   "example_split": "eval", "warmup_per_language": 2})
    with open(os.path.join(pushed.uri, "push_report.json")) as f:
        return pushed, json.load(f)


def test_executor_pushes_only_doubly_blessed_models(model_dir, tiny_corpus, tmp_path):
    root = str(tmp_path / "serving")
    pushed, report = _run(tmp_path, _artifacts(tmp_path, model_dir, tiny_corpus, True, True), root, "first")
    assert report["pushed"] and report["version"] == 1 and pushed.get_int_custom_property("pushed_version") == 1
    with open(os.path.join(root, "topics", "1", "assets.extra", "nlp2prod_metadata.json")) as f:
        metadata = json.load(f)
    assert metadata["data_spans"] == [3] and metadata["labels"] == list(LABELS)
    assert metadata["baseline_version"] is None and set(metadata["metrics"]) == {"overall", "per_language"}
    before = _fingerprint(os.path.join(root, "topics"))

    refused = _artifacts(tmp_path, model_dir, tiny_corpus, False, False, ["op 'X' is not registered"],
                         model_folder="other-model")
    pushed, report = _run(tmp_path, refused, root, "second")

    assert not report["pushed"] and pushed.get_int_custom_property("pushed") == 0
    assert report["reasons"] == ["model gate: not blessed", "serving check: op 'X' is not registered"]
    assert os.listdir(os.path.join(root, "topics")) == ["1"]
    assert _fingerprint(os.path.join(root, "topics")) == before


def test_the_same_model_is_never_pushed_twice(model_dir, tiny_corpus, tmp_path):
    root = str(tmp_path / "serving")
    inputs = _artifacts(tmp_path, model_dir, tiny_corpus, True, True)
    assert _run(tmp_path, inputs, root, "first")[1]["version"] == 1
    before = _fingerprint(os.path.join(root, "topics"))

    pushed, report = _run(tmp_path, inputs, root, "again")

    assert not report["pushed"] and pushed.get_int_custom_property("pushed") == 0
    assert report["reasons"] == [f"this model ({inputs['model'][0].uri}) is already version 1 of 'topics'; "
                                 "nothing new to push"]
    assert _fingerprint(os.path.join(root, "topics")) == before
