"""ServingCheck: op list against the pinned image, load in a server, gRPC canaries in every language."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_text as tf_text
from tfx.types import standard_artifacts

from models.classifier.export import CLASSIFY_METHOD, _set_method_name
from components.serving_check import canary, servability
from components.serving_check.executor import Executor
from tiny_model import LABELS, export_untrained, write_raw_examples

TEXTS = {"en": ["pizza bread soup today", "football goal match"], "it": ["banca soldi conto", "calcio gol"]}


class _BrokenModel(tf.Module):
    """Has the contract's signatures, but probabilities that do not sum to 1 (optionally a trimmer op)."""

    def __init__(self, trim: bool):
        super().__init__()
        self._trim = trim

    def _answer(self, count):
        probabilities = tf.fill([count, len(LABELS)], 0.5)
        return probabilities, tf.fill([count], LABELS[0])

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def serve(self, text):
        count = tf.shape(text)[0]
        if self._trim:
            pieces = tf.strings.bytes_split(text)
            count = tf_text.RoundRobinTrimmer(max_seq_length=8).trim([pieces])[0].nrows(out_type=tf.int32)
        probabilities, label = self._answer(count)
        return {"probabilities": probabilities, "label": label}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="inputs")])
    def classify(self, inputs):
        probabilities, _ = self._answer(tf.shape(inputs)[0])
        return {"classes": tf.tile(tf.constant([list(LABELS)]), [tf.shape(inputs)[0], 1]), "scores": probabilities}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def from_examples(self, examples):
        probabilities, label = self._answer(tf.shape(examples)[0])
        return {"probabilities": probabilities, "label": label}


def _save_broken(path, trim):
    module = _BrokenModel(trim)
    tf.saved_model.save(module, path, signatures={"serving_default": module.serve.get_concrete_function(),
                                                  "classify": module.classify.get_concrete_function(),
                                                  "from_examples": module.from_examples.get_concrete_function()})
    _set_method_name(path, "classify", CLASSIFY_METHOD)
    return path


@pytest.fixture(scope="module")
def good_model(tiny_corpus, tmp_path_factory):
    return export_untrained(tiny_corpus, tmp_path_factory.mktemp("good") / "model")


def test_malformed_answers_are_refused(tmp_path):
    path = _save_broken(str(tmp_path / "broken"), trim=False)
    report = canary.check_in_fresh_process(path, LABELS, TEXTS, timeout_seconds=300)
    assert report["blessed"] is False
    assert any("predict [en]: probabilities do not sum to 1" in p for p in report["problems"]), report


def test_ops_missing_from_the_pinned_image_are_named(tmp_path):
    path = _save_broken(str(tmp_path / "trimmer"), trim=True)
    report = canary.check_in_fresh_process(path, LABELS, TEXTS, timeout_seconds=300)
    assert report["blessed"] is False
    assert report["problems"][0] == ("op 'TFText>RoundRobinTrim' is not registered in tensorflow/serving:2.16.1 "
                                     "(core TF 2.16 + TF Text 2.12.1 ops_lib)")


def test_contract_signature_problems_are_specific():
    problems = servability.signature_problems({"serving_default": "tensorflow/serving/predict",
                                               "classify": "tensorflow/serving/predict"})
    assert problems == ["signature 'classify' has method_name 'tensorflow/serving/predict', expected "
                        "'tensorflow/serving/classify'", "signature 'from_examples' is missing"]


def test_predict_answer_checks():
    good = np.array([[0.2, 0.5, 0.3]])
    assert servability.predict_problems("p", 1, good, ["money"], LABELS) == []
    assert "is not the argmax label" in servability.predict_problems("p", 1, good, ["food"], LABELS)[0]
    assert "shape (1, 3), expected (2, 3)" in servability.predict_problems("p", 2, good, ["money"], LABELS)[0]
    assert "not finite" in servability.predict_problems("p", 1, np.array([[np.nan, 0, 1]]), ["food"], LABELS)[0]


def test_canary_texts_take_the_first_nonempty_texts_per_language():
    pairs = [("a", "en"), ("", "en"), ("b", "en"), ("c", "en"), ("x", "it")]
    assert servability.canary_texts(pairs, 2) == {"en": ["a", "b"], "it": ["x"]}


def test_a_good_candidate_is_blessed_with_answers_in_every_language(good_model, tiny_corpus, tmp_path):
    model = standard_artifacts.Model()
    model.uri = str(tmp_path / "model_artifact")
    os.makedirs(model.uri)
    os.symlink(good_model, os.path.join(model.uri, "Format-Serving"))
    examples = standard_artifacts.Examples()
    examples.uri = str(tmp_path / "examples")
    examples.split_names = '["eval"]'
    os.makedirs(os.path.join(examples.uri, "Split-eval"))
    write_raw_examples(tiny_corpus.eval_rows, os.path.join(examples.uri, "Split-eval", "data.gz"))
    blessing = standard_artifacts.InfraBlessing()
    blessing.uri = str(tmp_path / "blessing")

    Executor().Do({"model": [model], "examples": [examples]}, {"blessing": [blessing]},
                  {"labels": json.dumps(list(LABELS)), "example_split": "eval", "canary_per_language": 2,
                   "timeout_seconds": 300})

    assert blessing.get_int_custom_property("blessed") == 1
    assert os.path.exists(os.path.join(blessing.uri, "INFRA_BLESSED"))
    with open(os.path.join(blessing.uri, "serving_check.json")) as f:
        report = json.load(f)
    assert report["problems"] == [] and report["server"] == "nlp2prod in-process server"
    assert set(report["languages"]) == {"en", "it", "edge cases"} and report["languages"]["it"]["texts"] == 2
    assert all(label in LABELS for answer in report["languages"].values() for label in answer["labels"])
