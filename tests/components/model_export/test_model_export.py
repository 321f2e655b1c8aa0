"""ModelExport → VersionPusher: the gated exports of a blessed model land beside the SavedModel in the pushed
version (assets.extra/exports/), the metadata records each artefact, and an unblessed model is not exported."""

import json
import os

import pytest
from tfx.types import standard_artifacts

from components.model_export.component import ModelExports
from components.model_export.executor import NOT_BLESSED, Executor as ExportExecutor, calibration_texts
from components.version_pusher.executor import Executor as PushExecutor
from data import out_of_corpus
from edge import manifest as contract
from edge.runtime import EdgeModel
from tiny_model import LABELS, export_untrained, write_raw_examples

FORMATS = ("onnx_fp32", "tflite_int8")
HOLDOUT_ROWS = [("fußball tor", "sports", "de"), ("brot und käse", "food", "de"), ("geld bank", "money", "de")]


@pytest.fixture(scope="module")
def model_dir(tiny_corpus, tmp_path_factory):
    return export_untrained(tiny_corpus, tmp_path_factory.mktemp("candidate") / "model")


def _inputs(tmp_path, model_dir, corpus, blessed, splits=("train", "eval", "holdout")):
    model = standard_artifacts.Model()
    model.uri = str(tmp_path / "model")
    os.makedirs(model.uri, exist_ok=True)
    os.symlink(model_dir, os.path.join(model.uri, "Format-Serving"))
    examples = standard_artifacts.Examples()
    examples.uri, examples.split_names = str(tmp_path / "examples"), json.dumps(list(splits))
    for split in splits:
        os.makedirs(os.path.join(examples.uri, f"Split-{split}"))
        rows = {"eval": corpus.eval_rows, "holdout": HOLDOUT_ROWS}.get(split, corpus.train_rows)
        write_raw_examples(rows, os.path.join(examples.uri, f"Split-{split}", "data.gz"))
    blessings = {"model_blessing": standard_artifacts.ModelBlessing(), "infra_blessing": standard_artifacts.InfraBlessing()}
    for key, blessing in blessings.items():
        blessing.uri = str(tmp_path / key)
        blessing.set_int_custom_property("blessed", int(blessed))
    os.makedirs(blessings["infra_blessing"].uri)
    with open(os.path.join(blessings["infra_blessing"].uri, "serving_check.json"), "w") as f:
        json.dump({"blessed": blessed, "problems": []}, f)
    return {"model": [model], "examples": [examples], **{key: [value] for key, value in blessings.items()}}


def _export(tmp_path, inputs):
    exports = ModelExports()
    exports.uri = str(tmp_path / "exports")
    settings = {"formats": list(FORMATS), "max_texts_per_language": 6}
    ExportExecutor().Do(inputs, {"exports": [exports]},
                        {"labels": json.dumps(list(LABELS)), "settings": json.dumps(settings), "example_split": "eval"})
    return exports


def test_blessed_model_is_pushed_with_its_gated_exports(model_dir, tiny_corpus, tmp_path):
    inputs = _inputs(tmp_path, model_dir, tiny_corpus, blessed=True)
    exports = _export(tmp_path, inputs)
    manifest = contract.read_manifest(exports.uri)
    assert set(manifest["artefacts"]) | set(manifest["refused"]) == set(FORMATS)
    assert exports.get_int_custom_property("shipped") == len(manifest["artefacts"]) >= 1

    pushed = standard_artifacts.PushedModel()
    pushed.uri = str(tmp_path / "pushed")
    PushExecutor().Do(dict(inputs, model_exports=[exports]), {"pushed_model": [pushed]},
                      {"serving_root": str(tmp_path / "serving"), "model_name": "topics",
                       "labels": json.dumps(list(LABELS)), "example_split": "eval", "warmup_per_language": 2})
    version = os.path.join(str(tmp_path / "serving"), "topics", "1")
    with open(os.path.join(version, "assets.extra", "nlp2prod_metadata.json")) as f:
        recorded = json.load(f)["exports"]
    assert recorded["folder"] == contract.EXPORTS_DIR and recorded["refused"] == manifest["refused"]
    for name, entry in recorded["artefacts"].items():
        path = os.path.join(version, contract.EXPORTS_DIR, entry["file"])
        assert entry["bytes"] == os.path.getsize(path) and entry["sha256"] == contract.sha256_of(path)
        gate = entry["accuracy"]  # the Trainer's three evaluation sets, per language
        assert set(gate["eval"]) == {"en", "it", "overall"} and set(gate["held_out_language"]) == {"de", "overall"}
        assert set(gate["out_of_corpus"]) - {"overall"} == set(out_of_corpus.languages())
        assert gate["out_of_corpus"]["overall"]["examples"] == 6 * len(out_of_corpus.languages())  # capped per set
        model = EdgeModel.load(version, name)
        assert [p.label in LABELS for p in model.predict(["pizza bread", "calcio gol"])] == [True, True]
    assert sorted(os.listdir(os.path.join(version, contract.EXPORTS_DIR))) == sorted(
        [contract.MANIFEST_FILE, contract.TOKENIZER_FILE] + [e["file"] for e in recorded["artefacts"].values()])


def test_unblessed_model_is_not_exported(model_dir, tiny_corpus, tmp_path):
    exports = _export(tmp_path, _inputs(tmp_path, model_dir, tiny_corpus, blessed=False))
    manifest = contract.read_manifest(exports.uri)
    assert manifest["artefacts"] == {} and manifest["refused"] == {name: NOT_BLESSED for name in FORMATS}
    assert sorted(os.listdir(exports.uri)) == [contract.MANIFEST_FILE]


def test_int8_calibration_texts_come_from_the_training_split_only(model_dir, tiny_corpus, tmp_path):
    inputs = _inputs(tmp_path, model_dir, tiny_corpus, blessed=True)
    texts = calibration_texts(inputs["examples"], 5)
    train_texts = [text for text, _, _ in tiny_corpus.train_rows]
    assert len(texts) == 5 and set(texts) <= set(train_texts)
    assert texts[0] == train_texts[0] and texts[-1] == train_texts[-1]  # spread over the whole split
    assert calibration_texts(inputs["examples"], 10_000) == train_texts
    eval_only = _inputs(tmp_path / "eval_only", model_dir, tiny_corpus, blessed=True, splits=("eval",))
    assert calibration_texts(eval_only["examples"], 5) == []
