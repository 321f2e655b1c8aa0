"""Transform output (tf.Example TFRecords) → batches for the classifier, each padded only to its longest row."""

from __future__ import annotations

from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf

from models import features


class TrainingDataError(ValueError):
    """The transformed examples are missing, empty or do not carry the features the trainer needs."""


def example_files(patterns: Sequence[str]) -> List[str]:
    """Expands Trainer file patterns (e.g. `.../Split-train/*`) to a sorted file list.

    Raises:
      TrainingDataError: a pattern matches no file.
    """
    files = []
    for pattern in patterns:
        matched = sorted(tf.io.gfile.glob(pattern))
        if not matched:
            raise TrainingDataError(f"no transformed examples match {pattern!r}")
        files += matched
    return files


def read_examples(files: Sequence[str], feature_spec: Dict[str, object]) -> tf.data.Dataset:
    """Parsed examples (one dict per row) from GZIP (".gz") or plain TFRecord files."""
    compression = "GZIP" if all(f.endswith(".gz") for f in files) else ""
    records = tf.data.TFRecordDataset(list(files), compression_type=compression)
    needed = {key: feature_spec[key] for key in (features.INPUT_IDS, features.INPUT_MASK, features.LABEL_ID,
                                                 features.LANG) if key in feature_spec}
    missing = {features.INPUT_IDS, features.INPUT_MASK, features.LABEL_ID} - set(needed)
    if missing:
        raise TrainingDataError(f"transformed examples lack feature(s) {sorted(missing)}")
    return records.map(lambda record: tf.io.parse_single_example(record, needed))


def pack_for_model(input_ids: tf.Tensor, input_mask: tf.Tensor, remap, prefix_ids: Sequence[int] = ()):
    """Transform's [B, max_seq_length] full-vocabulary ids → the classifier's int32 [B, L] (ids, mask).

    Cut to the batch's longest row (short texts cost short steps), `prefix_ids` inserted after the first
    (bos) token (e5 was trained on "query: <text>"; the ids equal tokenizing the prefixed text), ids passed
    through `remap` (full id → trimmed embedding row). Training batches and the served graph both call this.
    """
    mask, ids = tf.cast(input_mask, tf.int32), tf.cast(input_ids, tf.int32)
    length = tf.maximum(tf.reduce_max(tf.reduce_sum(mask, axis=1)), 1)
    ids, mask = ids[:, :length], mask[:, :length]
    if prefix_ids:
        prefix = tf.tile(tf.constant([list(prefix_ids)], tf.int32), [tf.shape(ids)[0], 1])
        ids = tf.concat([ids[:, :1], prefix, ids[:, 1:]], axis=1)
        mask = tf.concat([mask[:, :1], tf.ones_like(prefix), mask[:, 1:]], axis=1)
    return tf.gather(remap, ids), mask


def batches(examples: tf.data.Dataset, batch_size: int, remap: np.ndarray,
            shuffle_seed: Optional[int] = None, prefix_ids: Sequence[int] = ()) -> tf.data.Dataset:
    """Batches of (input_ids int32 [B, L], input_mask int32 [B, L], label_id int32 [B], lang string [B]),
    packed by `pack_for_model`."""
    if shuffle_seed is not None:
        examples = examples.shuffle(4096, seed=shuffle_seed, reshuffle_each_iteration=True)
    table = tf.constant(remap, tf.int32)

    def to_batch(row):
        ids, mask = pack_for_model(row[features.INPUT_IDS], row[features.INPUT_MASK], table, prefix_ids)
        lang = row.get(features.LANG, tf.fill(tf.shape(mask)[:1], ""))
        return ids, mask, tf.cast(tf.reshape(row[features.LABEL_ID], [-1]), tf.int32), tf.reshape(lang, [-1])

    return examples.batch(batch_size).map(to_batch).prefetch(2)


def piece_ids_and_labels(examples: tf.data.Dataset) -> Tuple[np.ndarray, np.ndarray]:
    """All real (unpadded) piece ids of a split, and its label ids, as numpy arrays."""
    ids: List[np.ndarray] = []
    labels: List[np.ndarray] = []
    for batch in _numpy_batches(examples):
        mask = batch[features.INPUT_MASK].astype(bool)
        ids.append(batch[features.INPUT_IDS][mask])
        labels.append(batch[features.LABEL_ID].reshape(-1))
    if not labels:
        raise TrainingDataError("a split of the transformed examples is empty")
    return np.concatenate(ids), np.concatenate(labels)


def class_weights(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Balanced class weights n / (K * count_c); classes absent from training get weight 0."""
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    present = counts > 0
    weights = np.zeros(num_classes, np.float32)
    weights[present] = len(labels) / (present.sum() * counts[present])
    return weights


def _numpy_batches(examples: tf.data.Dataset) -> Iterator[Dict[str, np.ndarray]]:
    for batch in examples.batch(1024).as_numpy_iterator():
        yield batch
