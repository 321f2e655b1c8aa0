"""Gentle fine-tuning on cached activations: the frozen lower part of the encoder runs once per row.

With the word embedding and the lower transformer blocks frozen, every epoch would recompute the same lower
activations. Here they are computed once per split (`cache_split`), kept unpadded (one [tokens, H] slice per
row), and each epoch batches them again: rows shuffled, then sorted by length inside windows of
`_WINDOW_BATCHES` batches and the batches shuffled (`length_bucketed_order`), so batches hold rows of similar
length (little padding) while their composition and order still change every epoch. Only the top blocks and
the head see gradients (`upper_model` shares their layer objects with the full classifier, so training it
trains the exported model).
"""

from __future__ import annotations

import dataclasses
from typing import Iterator, List, Optional, Tuple

import numpy as np
import tf_keras

from models.classifier import classifier as classifier_lib
from models.classifier.training import predictor

_WINDOW_BATCHES = 50  # batches per sorting window: long enough to group lengths, short enough to stay random
HIDDEN_INPUT = "hidden"


@dataclasses.dataclass
class CachedSplit:
    """One split's lower-encoder activations, unpadded, with labels and languages.

    Attributes:
      hidden: float32 [total real tokens, H], rows one after another.
      offsets: int64 [rows + 1]: row i is hidden[offsets[i]:offsets[i + 1]].
      labels: int32 [rows].
      languages: str [rows].
    """

    hidden: np.ndarray
    offsets: np.ndarray
    labels: np.ndarray
    languages: np.ndarray

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def __len__(self) -> int:
        return len(self.labels)

    def batch(self, rows: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(hidden [B, L, H], mask int32 [B, L], labels [B], languages [B]) of `rows`, padded to the longest."""
        lengths = self.lengths[rows]
        width = max(1, int(lengths.max()))
        hidden = np.zeros((len(rows), width, self.hidden.shape[1]), np.float32)
        mask = np.zeros((len(rows), width), np.int32)
        for i, (row, length) in enumerate(zip(rows, lengths)):
            hidden[i, :length] = self.hidden[self.offsets[row]:self.offsets[row] + length]
            mask[i, :length] = 1
        return hidden, mask, self.labels[rows], self.languages[rows]


def lower_model(model: tf_keras.Model, trainable_layers: int) -> tf_keras.Model:
    """{input_ids, input_mask} → the hidden states entering the first trainable block (frozen part)."""
    blocks = classifier_lib.transformer_blocks(model)
    frozen = len(blocks) - trainable_layers
    source = model.get_layer("embeddings").output if frozen == 0 else blocks[frozen - 1].output
    return tf_keras.Model(model.inputs, source, name="frozen_lower")


def upper_models(model: tf_keras.Model, trainable_layers: int) -> Tuple[tf_keras.Model, tf_keras.Model]:
    """{hidden, input_mask} → logits through the classifier's own top blocks, pooling and head (shared), and
    the same inputs → the pooled features."""
    blocks = classifier_lib.transformer_blocks(model)
    hidden_size = blocks[0].hidden_size
    hidden_in = tf_keras.Input(shape=(None, hidden_size), dtype="float32", name=HIDDEN_INPUT)
    mask_in = tf_keras.Input(shape=(None,), dtype="int32", name="input_mask")
    hidden = hidden_in
    for block in blocks[len(blocks) - trainable_layers:]:
        hidden = block([hidden, mask_in])
    pooled = model.get_layer(classifier_lib.POOLING_LAYER)([hidden, mask_in])
    logits = classifier_lib.head_logits(model, pooled)
    inputs = {HIDDEN_INPUT: hidden_in, "input_mask": mask_in}
    return (tf_keras.Model(inputs, logits, name="trainable_upper"),
            tf_keras.Model(inputs, pooled, name="trainable_upper_pooled"))


def freeze_lower(model: tf_keras.Model, trainable_layers: int) -> None:
    """Marks the embeddings and every block below the top `trainable_layers` non-trainable."""
    blocks = classifier_lib.transformer_blocks(model)
    model.get_layer("embeddings").trainable = False
    for block in blocks[:len(blocks) - trainable_layers]:
        block.trainable = False


def cache_split(lower: tf_keras.Model, batches) -> CachedSplit:
    """Runs the frozen lower model once over (ids, mask, label, lang) batches and keeps the real tokens."""
    pieces: List[np.ndarray] = []
    lengths: List[np.ndarray] = []
    labels: List[np.ndarray] = []
    languages: List[str] = []
    run = predictor(lower)
    for ids, mask, label, lang in batches:
        hidden, mask_np = run(ids, mask).numpy(), mask.numpy().astype(bool)
        pieces.append(hidden[mask_np])
        lengths.append(mask_np.sum(axis=1))
        labels.append(label.numpy())
        languages += [value.decode("utf-8") for value in lang.numpy()]
    offsets = np.concatenate([[0], np.cumsum(np.concatenate(lengths))]).astype(np.int64)
    return CachedSplit(np.concatenate(pieces), offsets, np.concatenate(labels).astype(np.int32),
                       np.asarray(languages))


def length_bucketed_order(lengths: np.ndarray, batch_size: int,
                          rng: Optional[np.random.Generator]) -> List[np.ndarray]:
    """Row batches of similar length: shuffle, sort inside windows, cut into batches, shuffle the batches.

    Without `rng` (evaluation) the rows are sorted by length once and the batches kept in order.
    """
    if rng is None:
        order = np.argsort(lengths, kind="stable")
        return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    order = rng.permutation(len(lengths))
    window = batch_size * _WINDOW_BATCHES
    batches: List[np.ndarray] = []
    for start in range(0, len(order), window):
        chunk = order[start:start + window]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


class Batches:
    """Re-iterable padded batches of a cached split in `length_bucketed_order` (new order each pass when
    `seed` is given)."""

    def __init__(self, split: CachedSplit, batch_size: int, seed: Optional[int] = None):
        self.split, self.batch_size = split, batch_size
        self._rng = None if seed is None else np.random.default_rng(seed)

    def __iter__(self) -> Iterator[Tuple[np.ndarray, ...]]:
        for rows in length_bucketed_order(self.split.lengths, self.batch_size, self._rng):
            yield self.split.batch(rows)


def real_token_share(split: CachedSplit, batch_size: int, rng: np.random.Generator) -> Tuple[float, float]:
    """Share of computed positions that are real tokens: (length-bucketed batches, random batches)."""
    lengths = split.lengths

    def share(batches: List[np.ndarray]) -> float:
        real = sum(int(lengths[b].sum()) for b in batches)
        computed = sum(len(b) * int(lengths[b].max()) for b in batches)
        return real / max(computed, 1)

    order = rng.permutation(len(lengths))
    shuffled = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    return share(length_bucketed_order(lengths, batch_size, rng)), share(shuffled)


def pooled_features(pooled_model: tf_keras.Model, split: CachedSplit, hidden_size: int) -> np.ndarray:
    """The pooled features [rows, H] of every row of `split`, in row order."""
    run = predictor(pooled_model, hidden_size)
    features = np.zeros((len(split), hidden_size), np.float32)
    for rows in length_bucketed_order(split.lengths, 64, None):
        hidden, mask, _, _ = split.batch(rows)
        features[rows] = run(hidden, mask).numpy()
    return features
