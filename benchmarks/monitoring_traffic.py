"""Real training data, statistics and traffic for the monitoring tests.

The corpus is the bundled one (chatterbot-corpus): a deterministic 75/25 split by text hash gives the training
rows (written as gzip tf.Example TFRecords, then described by TFX's own StatisticsGen executor) and a held-out
pool drawn "like training" for live traffic. Languages the corpus has but the model is not trained on (es, de,
pt, fr, ...) are the untrained traffic. A character n-gram naive Bayes classifier trained on the training rows
answers the traffic, so predicted labels and confidences come from a real (small) model.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from typing import List, Sequence, Tuple

import numpy as np

from data import bundled
from monitoring.request_log import RequestLogger

TRAINED = ("en", "it", "ja", "ko", "uk", "zh", "zh-Hant", "fa", "nl")
UNTRAINED = ("es", "de", "pt", "fr")
LABELS = ("emotion", "food", "greetings", "humor", "literature", "money", "movies", "psychology", "science", "sports")
Row = Tuple[str, str, str]


def _bucket(text: str) -> int:
    return int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:8], 16) % 4


def corpus(languages: Sequence[str]) -> List[Row]:
    """(text, label, lang) rows of the bundled corpus, de-duplicated by text, in a stable order."""
    unique = {}
    for row in bundled.read_corpus(languages, LABELS):
        unique.setdefault(row[0], row)
    return list(unique.values())


def split_corpus() -> Tuple[List[Row], List[Row]]:
    """(training rows, held-out rows) of the trained languages."""
    rows = corpus(TRAINED)
    return [r for r in rows if _bucket(r[0]) != 0], [r for r in rows if _bucket(r[0]) == 0]


def write_examples(rows: Sequence[Row], examples_uri: str) -> None:
    """Writes rows as TFX ExampleGen does: Split-<name>/ folders of gzip TFRecords of tf.Example."""
    import tensorflow as tf

    for split, items in (("train", rows), ("eval", rows[:50])):
        folder = os.path.join(examples_uri, f"Split-{split}")
        os.makedirs(folder, exist_ok=True)
        options = tf.io.TFRecordOptions(compression_type="GZIP")
        with tf.io.TFRecordWriter(os.path.join(folder, "data_tfrecord-00000-of-00001.gz"), options) as writer:
            for text, label, lang in items:
                feature = {key: tf.train.Feature(bytes_list=tf.train.BytesList(value=[value.encode("utf-8")]))
                           for key, value in (("text", text), ("label", label), ("lang", lang))}
                writer.write(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())


def run_statistics_gen(examples_uri: str, statistics_uri: str) -> None:
    """TFX's StatisticsGen executor on the examples (what the pipeline's StatisticsGen runs)."""
    from tfx.components.statistics_gen import executor
    from tfx.types import standard_artifacts

    examples = standard_artifacts.Examples()
    examples.uri, examples.split_names = examples_uri, json.dumps(["train", "eval"])
    statistics = standard_artifacts.ExampleStatistics()
    statistics.uri = statistics_uri
    executor.Executor().Do({"examples": [examples]}, {"statistics": [statistics]},
                           {"exclude_splits": json.dumps([]), "stats_options_json": None})


class TrafficModel:
    """A small real classifier (char n-gram TF-IDF + multinomial naive Bayes) standing in for the served model."""

    def __init__(self, rows: Sequence[Row]):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.naive_bayes import MultinomialNB

        self._vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), min_df=2)
        features = self._vectorizer.fit_transform([text for text, _, _ in rows])
        self._model = MultinomialNB(alpha=0.05).fit(features, [label for _, label, _ in rows])
        self.labels = [str(label) for label in self._model.classes_]

    def predict(self, texts: Sequence[str]) -> Tuple[np.ndarray, List[str]]:
        probabilities = self._model.predict_proba(self._vectorizer.transform(list(texts))).astype(np.float32)
        return probabilities, [self.labels[i] for i in probabilities.argmax(axis=1)]


def log_stream(logger: RequestLogger, clock, rows: Sequence[Row], model: TrafficModel, version: int,
               seconds_per_request: float = 1.0) -> List[Tuple[str, Row, str]]:
    """Logs one single-text request per row, advancing `clock`; returns (request id, row, predicted label)."""
    probabilities, predicted = model.predict([text for text, _, _ in rows])
    logged = []
    for number, (row, probs, label) in enumerate(zip(rows, probabilities, predicted)):
        if number % 2000 == 1999:
            logger.flush()  # a burst larger than the logger's queue would be dropped (and counted)
        request_id = logger.log_predict("nlp2prod", version, {"text": [row[0]]},
                                        {"probabilities": probs[np.newaxis, :], "label": [label]}, source="test")
        logged.append((request_id, row, label))
        clock.now += seconds_per_request
    return logged


def sample(rows: Sequence[Row], count: int, rng: random.Random) -> List[Row]:
    """`count` rows drawn with replacement."""
    return [rows[rng.randrange(len(rows))] for _ in range(count)]


class Clock:
    """A settable clock for the request logger."""

    def __init__(self, now: float = 1_790_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now
