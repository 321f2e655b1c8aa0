"""A tiny SavedModel with the exported-model contract of the BERT classifier: to try the server, its clients and
the gateway without training, and the model the serving tests and benchmarks serve.

Signatures (as the Trainer exports them):
  serving_default  text tf.string [None] -> probabilities float32 [None, K], label tf.string [None]
  classify         inputs = serialized tf.Example [None] with feature `text` -> classes tf.string [None, K],
                   scores float32 [None, K]; method_name tensorflow/serving/classify
  from_examples    examples = serialized tf.Example [None] -> probabilities, label
Optionally `regress` (method tensorflow/serving/regress): inputs -> outputs float32 [None], for Regress tests.

The graph tokenizes with tensorflow-text's WhitespaceTokenizer (a TF Text op, as the real model has), hashes
tokens into buckets and applies a small dense layer; `seed` makes versions answer differently.
"""

from __future__ import annotations

import json
import os
from typing import Sequence

import numpy as np
import tensorflow as tf
import tensorflow_text as tf_text
from tensorflow.core.example import example_pb2
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow_serving.apis import (classification_pb2, input_pb2, model_pb2, predict_pb2,
                                     prediction_log_pb2)

LABELS = ("food", "greetings", "sports")
WARMUP_TEXTS = ("hello there", "bonjour tout le monde", "wie geht es dir", "こんにちは 世界")
_BUCKETS = 64
_DIM = 8


class _TinyClassifier(tf.Module):
    def __init__(self, labels: Sequence[str], seed: int):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.labels = tf.constant(list(labels))
        self.tokenizer = tf_text.WhitespaceTokenizer()
        self.embedding = tf.Variable(rng.normal(size=(_BUCKETS, _DIM)).astype(np.float32))
        self.kernel = tf.Variable(rng.normal(size=(_DIM, len(labels))).astype(np.float32))
        self.bias = tf.Variable(rng.normal(size=(len(labels),)).astype(np.float32))

    def _probabilities(self, text):
        tokens = self.tokenizer.tokenize(tf.strings.lower(text))
        ids = tf.strings.to_hash_bucket_fast(tokens, _BUCKETS)
        summed = tf.reduce_sum(tf.gather(self.embedding, ids), axis=1)
        counts = tf.cast(tf.maximum(ids.row_lengths(), 1), tf.float32)[:, None]
        return tf.nn.softmax(tf.matmul(summed / counts, self.kernel) + self.bias)

    def _predict(self, text):
        probabilities = self._probabilities(text)
        return {"probabilities": probabilities, "label": tf.gather(self.labels, tf.argmax(probabilities, axis=1))}

    def _parse_text(self, serialized):
        features = tf.io.parse_example(serialized, {"text": tf.io.FixedLenFeature([], tf.string, default_value="")})
        return features["text"]

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def serve(self, text):
        return self._predict(text)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="inputs")])
    def classify(self, inputs):
        scores = self._probabilities(self._parse_text(inputs))
        classes = tf.tile(self.labels[None, :], [tf.shape(scores)[0], 1])
        return {"classes": classes, "scores": scores}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def from_examples(self, examples):
        return self._predict(self._parse_text(examples))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="inputs")])
    def regress(self, inputs):
        return {"outputs": tf.reduce_max(self._probabilities(self._parse_text(inputs)), axis=1)}


def text_example(text: str) -> bytes:
    """A serialized tf.Example with the `text` feature."""
    example = example_pb2.Example()
    example.features.feature["text"].bytes_list.value.append(text.encode("utf-8"))
    return example.SerializeToString()


def export_test_model(export_dir: str, seed: int, model_name: str = "classifier", version: int = 1,
                      labels: Sequence[str] = LABELS, regression: bool = False, warmup: bool = True,
                      warmup_signature: str = "serving_default") -> str:
    """Exports one version dir (saved_model.pb, variables/, assets.extra/) and returns it."""
    module = _TinyClassifier(labels, seed)
    signatures = {"serving_default": module.serve, "classify": module.classify,
                  "from_examples": module.from_examples}
    if regression:
        signatures["regress"] = module.regress
    tf.saved_model.save(module, export_dir, signatures=signatures)
    methods = {"classify": "tensorflow/serving/classify", "regress": "tensorflow/serving/regress"}
    _set_method_names(export_dir, {k: v for k, v in methods.items() if k in signatures})
    extra = os.path.join(export_dir, "assets.extra")
    os.makedirs(extra, exist_ok=True)
    if warmup:
        write_warmup_requests(os.path.join(extra, "tf_serving_warmup_requests"), model_name, warmup_signature)
    metadata = {"model_name": model_name, "version": version, "run_id": f"test-{seed}", "labels": list(labels),
                "metrics": {"overall": {"macro_f1": round(0.5 + seed / 100, 3), "accuracy": 0.9},
                            "per_language": {"en": {"macro_f1": 0.8}}},
                "pushed_at": "2026-01-01T00:00:00Z", "baseline_version": None}
    with open(os.path.join(extra, "nlp2prod_metadata.json"), "w", encoding="utf-8") as handle:
        json.dump(metadata, handle)
    return export_dir


def _set_method_names(export_dir: str, methods: dict) -> None:
    # tf.saved_model.save writes every signature as predict; TF Serving's Classify/Regress need the method name.
    path = os.path.join(export_dir, "saved_model.pb")
    saved_model = saved_model_pb2.SavedModel()
    with open(path, "rb") as handle:
        saved_model.ParseFromString(handle.read())
    for key, method in methods.items():
        saved_model.meta_graphs[0].signature_def[key].method_name = method
    with open(path, "wb") as handle:
        handle.write(saved_model.SerializeToString())


def write_warmup_requests(path: str, model_name: str, signature: str = "serving_default") -> None:
    """PredictionLog records as the Pusher writes them: predict requests plus one classify request."""
    with tf.io.TFRecordWriter(path) as writer:
        request = predict_pb2.PredictRequest(model_spec=model_pb2.ModelSpec(name=model_name,
                                                                            signature_name=signature))
        request.inputs["text"].CopyFrom(tf.make_tensor_proto(list(WARMUP_TEXTS), dtype=tf.string))
        log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
        writer.write(log.SerializeToString())
        classify = classification_pb2.ClassificationRequest(
            model_spec=model_pb2.ModelSpec(name=model_name, signature_name="classify"),
            input=input_pb2.Input(example_list=input_pb2.ExampleList(
                examples=[example_pb2.Example.FromString(text_example(t)) for t in WARMUP_TEXTS])))
        log = prediction_log_pb2.PredictionLog(classify_log=prediction_log_pb2.ClassifyLog(request=classify))
        writer.write(log.SerializeToString())
