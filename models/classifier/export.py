"""Exports the classifier as a SavedModel that answers raw text (the contract in the team brief).

Signatures:
  serving_default (predict)   text: string [N] → probabilities float32 [N, K], label string [N]
  from_examples   (predict)   examples: serialized tf.Example [N] (feature `text`) → the same outputs
  classify        (classify)  inputs: serialized tf.Example [N] → classes string [N, K], scores float32 [N, K]
  transform_features (predict) examples → the transformed features (label_id, ...): TFMA's preprocessing
                                function, so the Evaluator reads labels exactly as Transform made them.
The graph is: raw features → `preprocessing` (Transform's layer: tokenizer + packing) → full-vocabulary ids
→ `datasets.pack_for_model` (longest-row cut, input prefix, dense remap gather to trimmed rows, the same code
as training) → classifier → softmax.
"""

from __future__ import annotations

import os
from typing import Dict, Sequence

import numpy as np
import tensorflow as tf
import tf_keras
from tensorflow.core.protobuf import saved_model_pb2

from models import features
from models.classifier import datasets

SERVING_DEFAULT = "serving_default"
FROM_EXAMPLES = "from_examples"
CLASSIFY = "classify"
TRANSFORM_FEATURES = "transform_features"
PROBABILITIES, LABEL, CLASSES, SCORES = "probabilities", "label", "classes", "scores"
CLASSIFY_METHOD = "tensorflow/serving/classify"
_STRINGS = tf.TensorSpec([None], tf.string)


class ServingModule(tf.Module):
    """Holds what the served graph needs: the preprocessing layer, the remap table, the classifier, labels.

    Args:
      classifier: {input_ids, input_mask} int32 → logits [N, K].
      preprocessing: a trackable callable, raw feature dict → dict with input_ids / input_mask (int64 full
        vocabulary ids); with every raw feature given, also the label feature(s) used by TFMA.
      raw_feature_spec: tf.io parsing spec of the raw examples (must hold `text`).
      remap: int32 [full vocabulary rows] full id → classifier embedding row.
      labels: label names, index = label_id.
      prefix_ids: full-vocabulary ids inserted after bos, as in training (see datasets.pack_for_model).
    """

    def __init__(self, classifier: tf_keras.Model, preprocessing, raw_feature_spec: Dict[str, object],
                 remap: np.ndarray, labels: Sequence[str], prefix_ids: Sequence[int] = ()):
        super().__init__(name="nlp2prod_classifier")
        self.classifier = classifier
        self.preprocessing = preprocessing
        self.remap = tf.Variable(np.asarray(remap, np.int32), trainable=False, name="vocabulary_remap")
        self.labels = tf.Variable(list(labels), trainable=False, dtype=tf.string, name="labels")
        self._raw_spec = dict(raw_feature_spec)
        self._text_spec = {features.TEXT: raw_feature_spec[features.TEXT]}
        self._prefix_ids = tuple(int(i) for i in prefix_ids)

    def _scores(self, raw: Dict[str, tf.Tensor]) -> tf.Tensor:
        encoded = self.preprocessing(raw)
        ids, mask = datasets.pack_for_model(encoded[features.INPUT_IDS], encoded[features.INPUT_MASK], self.remap,
                                            self._prefix_ids)
        logits = self.classifier({"input_ids": ids, "input_mask": mask}, training=False)
        return tf.nn.softmax(logits, axis=-1)

    def _predict(self, raw: Dict[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
        probabilities = self._scores(raw)
        return {PROBABILITIES: probabilities, LABEL: tf.gather(self.labels, tf.argmax(probabilities, axis=1))}

    def _text_features(self, text: tf.Tensor) -> Dict[str, tf.Tensor]:
        """All raw features for a batch of texts: Transform's graph may check every input (e.g. that the label
        is a configured one), so the features a client does not send get harmless fillers (the first label,
        empty strings); the outputs used here depend on the text alone."""
        shape = list(getattr(self._raw_spec[features.TEXT], "shape", []))
        text = tf.reshape(text, [-1] + shape)
        raw = {features.TEXT: text}
        for key in self._raw_spec:
            if key != features.TEXT:
                filler = self.labels[0] if key == features.LABEL else tf.constant("")
                raw[key] = tf.fill(tf.shape(text), filler)
        return raw

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def serve_text(self, text):
        return self._predict(self._text_features(text))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def serve_examples(self, examples):
        return self._predict(self._text_features(self._parse_text(examples)))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="inputs")])
    def classify(self, inputs):
        scores = self._scores(self._text_features(self._parse_text(inputs)))
        classes = tf.tile(self.labels[tf.newaxis, :], [tf.shape(scores)[0], 1])
        return {CLASSES: classes, SCORES: scores}

    def _parse_text(self, examples: tf.Tensor) -> tf.Tensor:
        return tf.reshape(tf.io.parse_example(examples, self._text_spec)[features.TEXT], [-1])

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def transform_features(self, examples):
        return self.preprocessing(tf.io.parse_example(examples, self._raw_spec))


def export_saved_model(module: ServingModule, export_dir: str) -> str:
    """Writes the SavedModel with the four signatures and marks `classify` as a Classify signature.

    Keras/TF2 export writes every signature as predict; TF Serving's Classify API only accepts a signature
    whose method_name is tensorflow/serving/classify, so the proto is rewritten in place after saving.
    """
    signatures = {SERVING_DEFAULT: module.serve_text.get_concrete_function(),
                  FROM_EXAMPLES: module.serve_examples.get_concrete_function(),
                  CLASSIFY: module.classify.get_concrete_function(),
                  TRANSFORM_FEATURES: module.transform_features.get_concrete_function()}
    tf.saved_model.save(module, export_dir, signatures=signatures)
    _set_method_name(export_dir, CLASSIFY, CLASSIFY_METHOD)
    return export_dir


def saved_model_bytes(export_dir: str) -> int:
    """Total size of the files under a SavedModel directory."""
    return sum(os.path.getsize(os.path.join(root, name))
               for root, _, names in os.walk(export_dir) for name in names)


def _set_method_name(export_dir: str, signature: str, method_name: str) -> None:
    path = os.path.join(export_dir, "saved_model.pb")
    saved_model = saved_model_pb2.SavedModel()
    with open(path, "rb") as f:
        saved_model.ParseFromString(f.read())
    for meta_graph in saved_model.meta_graphs:
        meta_graph.signature_def[signature].method_name = method_name
    with open(path, "wb") as f:
        f.write(saved_model.SerializeToString())
