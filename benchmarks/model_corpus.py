"""The model benchmark's data: the bundled corpus, cleaned by the TextCleaner's library, capped per language and
topic, split by a hash of the text (as the pipeline's hash buckets do), and tokenized by the project's in-graph
tokenizer into the transformed-example form the trainer library reads.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
from typing import Dict, List, Sequence, Tuple

import numpy as np
import tensorflow as tf
import tf_keras

from components.text_cleaner.cleaning import CleaningPolicy, Row, clean_rows
from data.bundled import read_corpus
from models import features
from models.tokenizer.text_encoder import TextEncoder, TokenizerAsset
from pipeline.configs import CleaningConfig

CLEANING = CleaningConfig()

Example = Tuple[str, str, str]  # (text, label, lang)


@dataclasses.dataclass(frozen=True)
class Corpus:
    train: List[Example]
    eval: List[Example]
    unseen: List[Example]  # rows left out by the cap: text the vocabulary-trim plan never saw
    labels: Tuple[str, ...]
    languages: Tuple[str, ...]
    dropped_by_cleaning: Dict[str, int]


def _is_eval(text: str, eval_share: float) -> bool:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") / 2 ** 32 < eval_share


def load_corpus(languages: Sequence[str], labels: Sequence[str], max_rows_per_topic: int,
                eval_share: float = 0.2, seed: int = 13) -> Corpus:
    """Bundled rows → cleaned (dedup, noise rules; no language-ID pass) → at most `max_rows_per_topic` per
    (language, topic), sampled with `seed` → train/eval by text hash. Up to half as many of the rows left out
    per (language, topic) form `unseen`: text neither training nor the vocabulary-trim plan saw."""
    raw = read_corpus(languages, labels)
    rows = [Row(split="all", source=f"bundled:{i}", text=text, label=label, lang=lang)
            for i, (text, label, lang) in enumerate(raw)]
    cleaned = clean_rows(rows, CleaningPolicy(tuple(languages), tuple(labels), CLEANING.min_chars, CLEANING.max_chars))
    dropped = collections.Counter(row.reason for row in cleaned if row.reason)
    groups: Dict[Tuple[str, str], List[Example]] = collections.defaultdict(list)
    for row in cleaned:
        if row.reason is None:
            groups[(row.lang, row.label)].append((row.cleaned, row.label, row.lang))
    rng = np.random.default_rng(seed)
    kept: List[Example] = []
    unseen: List[Example] = []
    for key in sorted(groups):
        group = groups[key]
        order = rng.permutation(len(group))
        kept += [group[i] for i in sorted(order[:max_rows_per_topic])]
        unseen += [group[i] for i in sorted(order[max_rows_per_topic:max_rows_per_topic + max_rows_per_topic // 2])]
    train = [row for row in kept if not _is_eval(row[0], eval_share)]
    evaluation = [row for row in kept if _is_eval(row[0], eval_share)]
    present = tuple(lang for lang in languages if any(row[2] == lang for row in kept))
    return Corpus(train, evaluation, unseen, tuple(labels), present, dict(dropped))


class Preprocessing(tf_keras.layers.Layer):
    """Stands in for Transform's layer in the exported graph: text → input_ids/input_mask, and label →
    label_id when the label is given (the `transform_features` signature TFMA uses)."""

    def __init__(self, asset: TokenizerAsset, max_seq_length: int, labels: Sequence[str], **kwargs):
        super().__init__(trainable=False, **kwargs)
        self.text_encoder = TextEncoder(asset, max_seq_length)
        self.label_table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(tf.constant(list(labels)),
                                                tf.range(len(labels), dtype=tf.int64)), -1)

    def call(self, raw):
        out = dict(self.text_encoder(tf.reshape(raw[features.TEXT], [-1])))
        if features.LABEL in raw:
            out[features.LABEL_ID] = self.label_table.lookup(tf.reshape(raw[features.LABEL], [-1]))
        return out


def raw_feature_spec() -> Dict[str, tf.io.FixedLenFeature]:
    return {key: tf.io.FixedLenFeature([], tf.string) for key in features.RAW_FEATURES}


def transformed_examples(rows: Sequence[Example], preprocessing: Preprocessing) -> tf.data.Dataset:
    """Rows as parsed transformed examples (one dict per row: input_ids, input_mask, label_id, lang), the
    element form `models.classifier.datasets.read_examples` yields."""
    encoded = preprocessing({features.TEXT: tf.constant([r[0] for r in rows]),
                             features.LABEL: tf.constant([r[1] for r in rows])})
    return tf.data.Dataset.from_tensor_slices({
        features.INPUT_IDS: encoded[features.INPUT_IDS], features.INPUT_MASK: encoded[features.INPUT_MASK],
        features.LABEL_ID: encoded[features.LABEL_ID], features.LANG: tf.constant([r[2] for r in rows])})


def counts_by_language(rows: Sequence[Example]) -> Dict[str, int]:
    return dict(sorted(collections.Counter(row[2] for row in rows).items()))
