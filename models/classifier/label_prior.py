"""The label prior: what the label names mean, added to what the training rows taught the head.

A topic corpus teaches a head what its rows happen to say about each label (chatterbot's `psychology` file is a
bot answering "you are cruel"), not what a user means by the label. The pretrained encoder already places text
near descriptions of what it is about, so the classifier adds, per label, the cosine between the text's pooled
embedding and the pooled embedding of a description of the label (`description_text`, e.g. "This text is about
food."), scaled by a strength:

    logits = head(pooled) + strength · normalize(pooled) · normalize(label_vectors)ᵀ

`strength` 0 is the plain classifier. The strength is chosen per candidate on a set of rows the model was not
trained on (the held-out languages when there are any, else the eval split) by `choose_strength`, and the
label vectors are re-read from the candidate's own encoder (`label_vectors`), so the prior lives inside the
served graph and every export of it.
"""

from __future__ import annotations

from typing import Dict, List, Mapping, Sequence, Tuple

import numpy as np
import tensorflow as tf
import tf_keras

PRIOR_LAYER = "label_prior"
# Strengths tried (on cosines in [-1, 1] added to the head's logits); the smallest of equally good ones wins.
STRENGTHS: Tuple[float, ...] = (0.0, 5.0, 10.0, 20.0, 30.0, 50.0, 75.0, 100.0)


class LabelPriorError(ValueError):
    """A description template that cannot describe a label."""


def description_text(template: str, label: str) -> str:
    """The description of one label (`template` holds `{label}`; underscores read as spaces)."""
    if "{label}" not in template:
        raise LabelPriorError(f"model.label_prior_template {template!r} has no {{label}} placeholder")
    return template.replace("{label}", label.replace("_", " "))


def description_rows(template: str, labels: Sequence[str]) -> List[Tuple[str, str, str]]:
    """(description, label, "und") per label, in label order: the input-format rows the label vectors are read
    from (the language is undetermined: the template may be in any language)."""
    return [(description_text(template, label), label, "und") for label in labels]


class LabelPrior(tf_keras.layers.Layer):
    """[logits [B, K], pooled [B, H]] → logits + strength · cos(pooled, label vectors); non-trainable."""

    def __init__(self, num_labels: int, hidden_size: int, **kwargs):
        super().__init__(**kwargs)
        self.num_labels, self.hidden_size = int(num_labels), int(hidden_size)
        self.label_vectors = self.add_weight(name="label_vectors", shape=(self.num_labels, self.hidden_size),
                                             initializer="zeros", trainable=False)
        self.strength = self.add_weight(name="strength", shape=(), initializer="zeros", trainable=False)

    def call(self, inputs):
        logits, pooled = inputs
        similarity = tf.matmul(tf.math.l2_normalize(pooled, axis=-1), self.label_vectors, transpose_b=True)
        return logits + self.strength * similarity

    def get_config(self):
        return {**super().get_config(), "num_labels": self.num_labels, "hidden_size": self.hidden_size}

    def set_prior(self, vectors: np.ndarray, strength: float) -> None:
        """Stores L2-normalised label vectors [K, H] and the strength."""
        self.label_vectors.assign(normalized(vectors))
        self.strength.assign(float(strength))

    def turn_off(self) -> None:
        """Strength 0: the logits are the head's alone."""
        self.strength.assign(0.0)


def normalized(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length."""
    vectors = np.asarray(vectors, np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def choose_strength(logits: np.ndarray, pooled: np.ndarray, label_vectors: np.ndarray, labels: np.ndarray,
                    strengths: Sequence[float] = STRENGTHS) -> Tuple[float, Dict[str, float]]:
    """The strength with the best accuracy on the rows given (ties: the smaller), and accuracy per strength.

    Args:
      logits: the head's logits without the prior [N, K].
      pooled: the pooled embeddings of the same rows [N, H].
      label_vectors: one description embedding per label [K, H].
      labels: true label ids [N].
      strengths: the strengths to try.
    """
    similarity = normalized(pooled) @ normalized(label_vectors).T
    accuracy = {float(s): float(np.mean(np.argmax(logits + s * similarity, axis=1) == labels))
                for s in sorted(strengths)}
    best = max(accuracy.values())
    chosen = min(s for s, value in accuracy.items() if value >= best)
    return chosen, {f"{s:g}": round(value, 4) for s, value in accuracy.items()}


def inputs_model(model: tf_keras.Model) -> tf_keras.Model:
    """`model`'s inputs → [the head's logits before the prior, the pooled embedding]: the two inputs of its
    LabelPrior (the output layer) in this model's own graph."""
    history = model.outputs[0]._keras_history  # pylint: disable=protected-access
    if history.layer.name != PRIOR_LAYER:
        raise ValueError(f"{model.name!r} does not end in its label prior")
    logits, pooled = history.layer.inbound_nodes[history.node_index].input_tensors
    return tf_keras.Model(model.input, [logits, pooled], name=f"{model.name}_prior_inputs")


def prior_layer(model: tf_keras.Model) -> LabelPrior:
    """The model's LabelPrior layer."""
    return model.get_layer(PRIOR_LAYER)


def report_entry(strength: float, selection: Mapping[str, float], selected_on: str) -> Dict[str, object]:
    """The training report's record of one candidate's prior."""
    return {"strength": strength, "selected_on": selected_on, "accuracy_by_strength": dict(selection)}
