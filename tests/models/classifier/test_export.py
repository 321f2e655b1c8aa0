"""The exported SavedModel answers raw text in a fresh process, with the signatures of the contract."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from tensorflow.core.protobuf import saved_model_pb2

from models.classifier import export
from tiny_model import LABELS, TinyPreprocessing, raw_example

_PROBE = r"""
import json, sys
import tensorflow_text  # registers the SentencePiece ops before the graph loads
import tensorflow as tf
model = tf.saved_model.load(sys.argv[1])
texts = ["pizza bread soup today cheese", "banca soldi prezzo oggi conto", ""]
serving = model.signatures["serving_default"](text=tf.constant(texts))
examples = tf.constant([bytes.fromhex(h) for h in sys.argv[2].split(",")])
from_examples = model.signatures["from_examples"](examples=examples)
classify = model.signatures["classify"](inputs=examples)
transformed = model.signatures["transform_features"](examples=examples)
print(json.dumps({
    "probabilities": serving["probabilities"].numpy().tolist(),
    "label": [v.decode() for v in serving["label"].numpy()],
    "from_examples": from_examples["probabilities"].numpy().tolist(),
    "classes": [[v.decode() for v in row] for row in classify["classes"].numpy()],
    "scores": classify["scores"].numpy().tolist(),
    "label_id": transformed["label_id"].numpy().reshape(-1).tolist(),
}))
"""


@pytest.fixture(scope="module")
def exported(trained_tiny, tiny_corpus, tmp_path_factory):
    directory = str(tmp_path_factory.mktemp("export") / "model")
    module = export.ServingModule(trained_tiny.model, TinyPreprocessing(tiny_corpus.asset), tiny_corpus.raw_spec,
                                  trained_tiny.trim.remap, LABELS)
    return export.export_saved_model(module, directory)


def test_fresh_process_classifies_raw_text(exported):
    examples = [raw_example("pizza bread soup today cheese", "food", "en"), raw_example("banca soldi prezzo oggi conto", "money", "it"),
                raw_example("", "sports", "en")]
    probe = subprocess.run([sys.executable, "-c", _PROBE, exported, ",".join(e.hex() for e in examples)],
                           capture_output=True, text=True, timeout=300,
                           env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert probe.returncode == 0, probe.stderr[-3000:]
    answer = json.loads(probe.stdout.strip().splitlines()[-1])

    assert [len(row) for row in answer["probabilities"]] == [3, 3, 3]
    assert all(abs(sum(row) - 1) < 1e-5 for row in answer["probabilities"])
    assert answer["label"][:2] == ["food", "money"]
    np.testing.assert_allclose(answer["from_examples"], answer["probabilities"], atol=1e-6)
    assert answer["classes"] == [list(LABELS)] * 3
    np.testing.assert_allclose(answer["scores"], answer["probabilities"], atol=1e-6)
    assert answer["label_id"] == [0, 1, 2]


def test_classify_signature_is_a_classify_method(exported):
    saved_model = saved_model_pb2.SavedModel()
    with open(os.path.join(exported, "saved_model.pb"), "rb") as f:
        saved_model.ParseFromString(f.read())
    signatures = saved_model.meta_graphs[0].signature_def
    assert signatures["classify"].method_name == "tensorflow/serving/classify"
    assert signatures["serving_default"].method_name == "tensorflow/serving/predict"
    assert set(signatures["classify"].inputs) == {"inputs"}
    assert set(signatures["classify"].outputs) == {"classes", "scores"}
    assert set(signatures["serving_default"].inputs) == {"text"}
    assert set(signatures["serving_default"].outputs) == {"probabilities", "label"}
