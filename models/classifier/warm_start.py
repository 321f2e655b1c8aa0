"""Warm start: initialise a freshly built classifier from the weights of the latest blessed model.

The blessed model is an exported SavedModel (`export.ServingModule`): its classifier may have a trimmed word
embedding (fewer rows, reached through the in-graph `remap` table) and pruned-then-stripped kernels. Every other
weight (transformer blocks, LayerNorms, position/type embeddings, classification head) is copied as is. Weights
are matched by variable name and, where a name repeats (the two LayerNorms of a block share theirs), by its
order of occurrence, which does not depend on which weights were trainable. For the word embedding, the rows
of the pieces kept by both models are copied through the two remap tables; the other rows stay pretrained.

A different label list or encoder architecture is a deliberate change by the user: `initialize` then logs why
and leaves the pretrained weights in place, and the training report says so.
"""

from __future__ import annotations

import collections
import dataclasses
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf
import tensorflow_text  # noqa: F401  (the exported graph holds TF Text ops; register them before loading it)
import tf_keras

from models import progress
from models.classifier.label_prior import PRIOR_LAYER
from models.classifier.vocabulary_trim import VocabularyTrim

WORD_EMBEDDING = "embeddings/word"
_WORD_SCALE = "embeddings/word_scale"
_POSITION_EMBEDDING = "embeddings/position"
_BLOCK_PREFIX = "transformer_block_"

WeightKey = Tuple[str, int]  # (variable name without ":0", occurrence of that name)


class WarmStartMismatch(ValueError):
    """The blessed model cannot initialise this classifier (other labels, other encoder architecture)."""


@dataclasses.dataclass(frozen=True)
class BlessedWeights:
    """What warm start needs from a blessed SavedModel.

    Attributes:
      path: the SavedModel directory.
      labels: its label names in label_id order.
      remap: int32 [full vocabulary rows]: full piece id → row of its word embedding.
      weights: its classifier's weights by (name, occurrence).
    """

    path: str
    labels: Tuple[str, ...]
    remap: np.ndarray
    weights: Dict[WeightKey, np.ndarray]


def read_blessed(model_dir: str) -> BlessedWeights:
    """Loads an exported model's labels, remap table and classifier weights."""
    loaded = tf.saved_model.load(model_dir)
    labels = tuple(value.decode("utf-8") for value in loaded.labels.numpy())
    # bfloat16-exported kernels come back as float32, the dtype training uses.
    weights = dict(zip(_weight_keys(loaded.classifier.variables),
                       (tf.cast(variable, tf.float32).numpy() if variable.dtype == tf.bfloat16 else variable.numpy()
                        for variable in loaded.classifier.variables)))
    # An int8 word embedding comes back as the float32 rows it stands for.
    scale = weights.pop((_WORD_SCALE, 0), None)
    if scale is not None:
        weights[(WORD_EMBEDDING, 0)] = weights[(WORD_EMBEDDING, 0)].astype(np.float32) * scale[:, np.newaxis]
    return BlessedWeights(path=model_dir, labels=labels, remap=loaded.remap.numpy(), weights=weights)


def copy_blessed_weights(model: tf_keras.Model, trim: VocabularyTrim, full_unk_id: int, labels: Sequence[str],
                         blessed: BlessedWeights) -> Dict[str, object]:
    """Assigns the blessed weights to `model` in place.

    Args:
      model: a classifier from `classifier.build_classifier`, its word embedding built for `trim`.
      trim: the vocabulary trim of `model` (the identity trim when untrimmed).
      full_unk_id: the full-vocabulary id of <unk> (kept by every trim).
      labels: this run's label names in label_id order.
      blessed: the blessed model's weights.

    Returns:
      {"used": True, "from": path, "copied": weights copied whole, "embedding_rows": word rows copied}.

    Raises:
      WarmStartMismatch: other labels, another layer count or hidden size, another vocabulary, or any weight
        whose shape differs.
    """
    _check_compatible(model, trim, labels, blessed)
    copied, rows = 0, 0
    for key, variable in zip(_weight_keys(model.variables), model.variables):
        if key[0] == WORD_EMBEDDING:
            rows = _copy_embedding_rows(variable, trim, full_unk_id, blessed)
        elif _is_prior(key):
            continue  # chosen again for every candidate (label_prior.py); models before the prior have none
        else:
            variable.assign(blessed.weights[key])
            copied += 1
    progress.log.info("warm start from %s: %d weights and %d word-embedding rows copied", blessed.path, copied,
                      rows)
    return {"used": True, "from": blessed.path, "copied": copied, "embedding_rows": rows}


def initialize(model: tf_keras.Model, trim: VocabularyTrim, full_unk_id: int, labels: Sequence[str],
               blessed_dir: Optional[str]) -> Dict[str, object]:
    """Warm-starts `model` from `blessed_dir` when possible; otherwise keeps the pretrained encoder and says why.

    Returns:
      The `warm_start` entry of the training report: {"used": True, ...} (see `copy_blessed_weights`) or
      {"used": False, "reason": ...}.
    """
    if not blessed_dir:
        reason = "no blessed model yet (first run): training starts from the pretrained encoder"
        progress.log.info("warm start: %s", reason)
        return {"used": False, "reason": reason}
    try:
        return copy_blessed_weights(model, trim, full_unk_id, labels, read_blessed(blessed_dir))
    except WarmStartMismatch as mismatch:
        progress.log.warning("warm start not possible, training starts from the pretrained encoder: %s", mismatch)
        return {"used": False, "from": blessed_dir, "reason": str(mismatch)}


def _weight_keys(variables: Sequence[tf.Variable]) -> List[WeightKey]:
    seen: Dict[str, int] = collections.Counter()
    keys = []
    for variable in variables:
        name = variable.name.split(":", 1)[0]
        keys.append((name, seen[name]))
        seen[name] += 1
    return keys


def _architecture(keys_and_shapes: Dict[WeightKey, Tuple[int, ...]]) -> str:
    blocks = {name.split("/", 1)[0] for name, _ in keys_and_shapes if name.startswith(_BLOCK_PREFIX)}
    hidden = keys_and_shapes.get((_POSITION_EMBEDDING, 0), (None, None))[-1]
    ffn = keys_and_shapes.get((f"{_BLOCK_PREFIX}0/intermediate/kernel", 0), (None, None))[-1]
    return f"{len(blocks)} layers, hidden size {hidden}, FFN size {ffn}"


def _check_compatible(model: tf_keras.Model, trim: VocabularyTrim, labels: Sequence[str],
                      blessed: BlessedWeights) -> None:
    if tuple(labels) != blessed.labels:
        raise WarmStartMismatch(f"label set changed: blessed model {blessed.path} has labels {list(blessed.labels)}, "
                                f"this run has {list(labels)}")
    ours = {key: tuple(v.shape) for key, v in zip(_weight_keys(model.variables), model.variables)}
    theirs = {key: tuple(value.shape) for key, value in blessed.weights.items()}
    differing = sorted(key for key in ours.keys() | theirs.keys()
                       if key[0] != WORD_EMBEDDING and not _is_prior(key) and ours.get(key) != theirs.get(key))
    if differing or len(trim.remap) != len(blessed.remap):
        raise WarmStartMismatch(
            f"encoder architecture changed: blessed model {blessed.path} has {_architecture(theirs)} and "
            f"{len(blessed.remap)} vocabulary pieces, this run's encoder has {_architecture(ours)} and "
            f"{len(trim.remap)} (first differing weight: {differing[0][0] if differing else WORD_EMBEDDING})")


def _is_prior(key: WeightKey) -> bool:
    return key[0].startswith(f"{PRIOR_LAYER}/")


def _copy_embedding_rows(variable: tf.Variable, trim: VocabularyTrim, full_unk_id: int,
                         blessed: BlessedWeights) -> int:
    """Copies the word-embedding rows of the pieces both models keep; returns how many."""
    theirs = blessed.weights[(WORD_EMBEDDING, 0)]
    # A blessed row reached by exactly one full id is that piece's own row; the shared row is <unk>'s.
    row_users = np.bincount(blessed.remap, minlength=theirs.shape[0])
    blessed_kept = row_users[blessed.remap] == 1
    blessed_kept[full_unk_id] = True
    ids = trim.kept_ids[blessed_kept[trim.kept_ids]]
    matrix = variable.numpy()
    matrix[trim.remap[ids]] = theirs[blessed.remap[ids]]
    variable.assign(matrix)
    return int(len(ids))
