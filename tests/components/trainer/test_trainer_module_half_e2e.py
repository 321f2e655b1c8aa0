"""The whole pipeline on a tiny config (a tiny BERT checkpoint in the Hugging Face format, three languages):
a version is pushed and answers raw text in a fresh process; a run that fails the gate pushes nothing."""

import dataclasses
import glob
import hashlib
import json
import os
import subprocess
import sys

import pytest
from tfx import v1 as tfx

from models.encoder.synthetic import write_synthetic_hf_bert
from data import bundled
from pipeline import pipeline as pipeline_module
from pipeline.configs import DataConfig, EvalConfig, ModelConfig, PushConfig, RunConfig

LANGUAGES = ("en", "it", "ja")
LABELS = ("food", "greetings", "money")
pytestmark = pytest.mark.e2e

_PROBE = r"""
import json, sys
import tensorflow_text  # registers the tokenizer's ops before the graph loads
import tensorflow as tf
model = tf.saved_model.load(sys.argv[1])
answer = model.signatures["serving_default"](text=tf.constant(sys.argv[2:]))
print(json.dumps({"labels": [v.decode() for v in answer["label"].numpy()],
                  "shape": list(answer["probabilities"].shape)}))
"""


def _run(config):
    tfx.orchestration.LocalDagRunner().run(pipeline_module.create_pipeline(
        config, tfx.orchestration.metadata.sqlite_metadata_connection_config(config.metadata_path)))


def _push_reports(config):
    reports = []
    for path in sorted(glob.glob(os.path.join(config.pipeline_root, "VersionPusher", "pushed_model", "*",
                                              "push_report.json")), key=os.path.getmtime):
        with open(path) as f:
            reports.append(json.load(f))
    return reports


def _fingerprint(folder):
    digest = hashlib.sha256()
    for root, dirs, names in sorted(os.walk(folder)):
        dirs.sort()
        for name in sorted(names):
            with open(os.path.join(root, name), "rb") as f:
                digest.update(name.encode() + f.read())
    return digest.hexdigest()


def test_pipeline_pushes_a_raw_text_model_and_a_gate_failure_pushes_nothing(tmp_path):
    rows = bundled.read_corpus(LANGUAGES, LABELS)
    encoder, _ = write_synthetic_hf_bert(str(tmp_path / "tiny-bert"), [text for text, _, _ in rows], max_pieces=3000)
    config = RunConfig(
        home=str(tmp_path / "home"),
        data=DataConfig(data_root=str(tmp_path / "data"), languages=LANGUAGES, labels=LABELS),
        model=ModelConfig(encoder=encoder, max_seq_length=32, epochs=2, learning_rate=3e-3,
                          target_sparsity=0.5, pruning_epochs=1, pruning_tolerance=0.5, vocab_margin_per_script=50),
        eval=EvalConfig(min_macro_f1=0.0, min_language_accuracy=0.0),
        push=PushConfig(serving_root=str(tmp_path / "serving"), model_name="topics"))
    bundled.write_span(rows, config.data.data_root, 1)

    _run(config)

    model_root = os.path.join(config.push.serving_root, "topics")
    assert os.listdir(model_root) == ["1"]
    first = _push_reports(config)[-1]
    assert first["pushed"] and first["version"] == 1 and first["sparsity"] == 0.5
    with open(os.path.join(model_root, "1", "assets.extra", "nlp2prod_metadata.json")) as f:
        metadata = json.load(f)
    assert set(metadata["metrics"]["per_language"]) == set(LANGUAGES) and metadata["labels"] == list(LABELS)
    probe = subprocess.run([sys.executable, "-c", _PROBE, os.path.join(model_root, "1"),
                            "I love pizza", "Ciao, come stai?", "お金がない"], capture_output=True, text=True,
                           timeout=300)
    assert probe.returncode == 0, probe.stderr[-2000:]
    answer = json.loads(probe.stdout.strip().splitlines()[-1])
    assert answer["shape"] == [3, 3] and set(answer["labels"]) <= set(LABELS)
    before = _fingerprint(model_root)

    _run(dataclasses.replace(config, eval=EvalConfig(min_macro_f1=0.99, min_language_accuracy=0.0)))

    refused = _push_reports(config)[-1]
    assert not refused["pushed"] and refused["reasons"][0].startswith("model gate: macro_f1 overall: ")
    assert os.listdir(model_root) == ["1"] and _fingerprint(model_root) == before
