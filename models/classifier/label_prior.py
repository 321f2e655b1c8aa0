"""The label prior: what the label names mean, added to what the training rows taught the head.

A topic corpus teaches a head what its rows happen to say about each label (chatterbot's `psychology` file is a
bot answering "you are cruel"), not what a user means by the label. The pretrained encoder already places text
near descriptions of what it is about, so the classifier adds, per label, the cosine between the text's pooled
embedding and the pooled embedding of a description of the label (`description_text`, e.g. "This text is about
food."), scaled by a strength:

    logits = head(pooled) + strength · normalize(pooled) · normalize(label_vectors)ᵀ

`strength` 0 is the plain classifier. The strength is chosen per candidate on a set of rows the model was not
trained on (the held-out languages when there are any, else the eval split) by `choose`, and the
label vectors are re-read from the candidate's own encoder (`label_vectors`), so the prior lives inside the
served graph and every export of it.

Label examples (`data/label_examples`: hand-written sentences per label) add a second linear head, fitted on
their pooled embeddings, times a weight:

    logits = head(pooled) + strength · cos(pooled, label vectors) + weight · example_head(pooled)

`choose` picks the weight and the strength together: on the selection set alone when there are no examples,
else on the mean of the selection set's accuracy and the examples' own k-fold accuracy (each fold scored by a
head fitted on the other folds), so the corpus and what the labels mean both have a say and the out-of-corpus
test set is never read. The example head times its weight is stored in the layer, one [H, K] product more.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf
import tf_keras

PRIOR_LAYER = "label_prior"
# Strengths tried (on cosines in [-1, 1] added to the head's logits); the smallest of equally good ones wins.
STRENGTHS: Tuple[float, ...] = (0.0, 5.0, 10.0, 20.0, 30.0, 50.0, 75.0, 100.0)
# Weights tried for the label examples' head (on logits of the same scale as the corpus head's).
EXAMPLE_WEIGHTS: Tuple[float, ...] = (0.0, 0.5, 1.0, 2.0, 4.0)
EXAMPLE_FOLDS = 5


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
    """[logits [B, K], pooled [B, H]] → logits + strength · cos(pooled, label vectors) + the weighted example head;
    non-trainable."""

    def __init__(self, num_labels: int, hidden_size: int, **kwargs):
        super().__init__(**kwargs)
        self.num_labels, self.hidden_size = int(num_labels), int(hidden_size)
        self.label_vectors = self.add_weight(name="label_vectors", shape=(self.num_labels, self.hidden_size),
                                             initializer="zeros", trainable=False)
        self.strength = self.add_weight(name="strength", shape=(), initializer="zeros", trainable=False)
        self.example_kernel = self.add_weight(name="example_kernel", shape=(self.hidden_size, self.num_labels),
                                              initializer="zeros", trainable=False)
        self.example_bias = self.add_weight(name="example_bias", shape=(self.num_labels,), initializer="zeros",
                                            trainable=False)

    def call(self, inputs):
        logits, pooled = inputs
        similarity = tf.matmul(tf.math.l2_normalize(pooled, axis=-1), self.label_vectors, transpose_b=True)
        return logits + self.strength * similarity + tf.matmul(pooled, self.example_kernel) + self.example_bias

    def get_config(self):
        return {**super().get_config(), "num_labels": self.num_labels, "hidden_size": self.hidden_size}

    def set_prior(self, vectors: np.ndarray, strength: float,
                  example_head: Optional[Tuple[np.ndarray, np.ndarray]] = None) -> None:
        """Stores L2-normalised label vectors [K, H], the strength and the example head (kernel [H, K], bias [K],
        its weight already multiplied in; None: no example head)."""
        self.label_vectors.assign(normalized(vectors))
        self.strength.assign(float(strength))
        kernel, bias = example_head if example_head is not None else (np.zeros(self.example_kernel.shape),
                                                                      np.zeros(self.example_bias.shape))
        self.example_kernel.assign(np.asarray(kernel, np.float32))
        self.example_bias.assign(np.asarray(bias, np.float32))

    def apply(self, logits: np.ndarray, pooled: np.ndarray) -> np.ndarray:
        """The layer's arithmetic on numpy arrays (rows already run through the model up to its inputs)."""
        similarity = normalized(pooled) @ self.label_vectors.numpy().T
        return (logits + float(self.strength.numpy()) * similarity + pooled @ self.example_kernel.numpy()
                + self.example_bias.numpy())

    def turn_off(self) -> None:
        """Strength 0 and no example head: the logits are the head's alone."""
        self.set_prior(self.label_vectors.numpy(), 0.0)


def normalized(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length."""
    vectors = np.asarray(vectors, np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


# (head logits without the prior [N, K], pooled embeddings [N, H], label ids [N])
Rows = Tuple[np.ndarray, np.ndarray, np.ndarray]
HeadFit = Callable[[np.ndarray, np.ndarray], Tuple[np.ndarray, np.ndarray]]  # (pooled, labels) → (kernel, bias)


@dataclasses.dataclass(frozen=True)
class Choice:
    """The strength and example weight chosen, the example head times its weight (None: weight 0 or no
    examples), the score of every (weight, strength) tried, keyed "weight/strength", and the selection-accuracy
    bound they competed under."""

    strength: float
    example_weight: float
    example_head: Optional[Tuple[np.ndarray, np.ndarray]]
    scores: Dict[str, float]
    selection_accuracy: float
    examples_accuracy: Optional[float]
    min_selection_accuracy: Optional[float] = None  # the bound the pairs competed under (None: none)

    @property
    def score(self) -> float:
        return self.scores[key(self.example_weight, self.strength)]

    @property
    def within_bound(self) -> bool:
        """Whether the chosen pair reaches `min_selection_accuracy` (True without one)."""
        return self.min_selection_accuracy is None or \
            self.selection_accuracy >= round(self.min_selection_accuracy, 4)


def key(weight: float, strength: float) -> str:
    return f"{weight:g}/{strength:g}"


def choose(selection: Rows, label_vectors: np.ndarray, examples: Optional[Rows] = None,
           fit_head: Optional[HeadFit] = None, strengths: Sequence[float] = STRENGTHS,
           weights: Sequence[float] = EXAMPLE_WEIGHTS, folds: int = EXAMPLE_FOLDS,
           min_selection_accuracy: Optional[float] = None) -> Choice:
    """The (example weight, strength) with the best score (ties: the smaller weight, then the smaller strength).

    The score is the selection rows' accuracy, or with `examples` (and `fit_head`, which fits a linear head on
    pooled embeddings) the mean of that and the examples' `folds`-fold accuracy. With `min_selection_accuracy`,
    only the pairs whose selection accuracy reaches it compete (all of them when none does): a candidate that
    must not fall below another's accuracy on the selection set is tuned within that bound.

    Args:
      selection: rows the model was not trained on (held-out languages, else the eval split).
      label_vectors: one description embedding per label [K, H].
      examples: the label examples' rows, or None.
      fit_head: fits the example head; required with `examples`.
      strengths, weights: the grid tried.
      folds: the examples' folds (row i in fold i mod folds).
      min_selection_accuracy: the selection accuracy a pair must reach to compete, or None.
    """
    use_examples = examples is not None and len(examples[2]) >= folds
    if use_examples and fit_head is None:
        raise ValueError("label examples need a head fit function")
    weights = sorted(set(weights) | {0.0}) if use_examples else [0.0]
    vectors = normalized(label_vectors)
    head = fit_head(examples[1], examples[2]) if use_examples else None

    def logits_of(rows: Rows, weight: float, strength: float, example_head) -> np.ndarray:
        logits, pooled, _ = rows
        out = logits + strength * (normalized(pooled) @ vectors.T)
        return out + weight * (pooled @ example_head[0] + example_head[1]) if weight else out

    def accuracy(rows: Rows, weight: float, strength: float, example_head) -> float:
        return float(np.mean(np.argmax(logits_of(rows, weight, strength, example_head), axis=1) == rows[2]))

    fold_of = np.arange(len(examples[2])) % folds if use_examples else None
    fold_heads = ([fit_head(examples[1][fold_of != f], examples[2][fold_of != f]) for f in range(folds)]
                  if use_examples else [])
    selection_scores, example_scores, scores = {}, {}, {}
    for weight in weights:
        for strength in sorted(strengths):
            name = key(weight, strength)
            selection_scores[name] = accuracy(selection, weight, strength, head)
            if use_examples:
                hits = sum(accuracy(_rows_of(examples, fold_of == f), weight, strength, fold_heads[f])
                           * np.sum(fold_of == f) for f in range(folds))
                example_scores[name] = float(hits / len(examples[2]))
                scores[name] = round((selection_scores[name] + example_scores[name]) / 2, 4)
            else:
                scores[name] = round(selection_scores[name], 4)
    competing = [name for name in scores if min_selection_accuracy is None
                 or round(selection_scores[name], 4) >= round(min_selection_accuracy, 4)] or list(scores)
    best = max(scores[name] for name in competing)
    weight, strength = min((w, s) for w in weights for s in strengths
                           if key(w, s) in competing and scores[key(w, s)] >= best)
    name = key(weight, strength)
    example_head = (head[0] * weight, head[1] * weight) if use_examples and weight else None
    return Choice(strength, weight, example_head, scores, round(selection_scores[name], 4),
                  round(example_scores[name], 4) if use_examples else None, min_selection_accuracy)


def _rows_of(rows: Rows, mask: np.ndarray) -> Rows:
    return tuple(part[mask] for part in rows)


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


def report_entry(choice: Choice, selected_on: str) -> Dict[str, object]:
    """The training report's record of one candidate's prior."""
    return {"strength": choice.strength, "example_weight": choice.example_weight, "selected_on": selected_on,
            "selection_accuracy": choice.selection_accuracy, "label_examples_accuracy": choice.examples_accuracy,
            "min_selection_accuracy": choice.min_selection_accuracy,
            "score_by_weight_and_strength": dict(choice.scores)}
