"""Input rows -> tf.Examples, which split each example goes to, and which spans a rolling window reads.

Pure functions, no TFX. Besides the raw features (text, label, lang) every example carries the bookkeeping
features `source` (`span-N/file:line`, so the quarantine can point at the user's line), `group` (the split
key: the row's group column, else its text) and, when the reader could not parse the line, `ingest_problem`
and `ingest_detail`. The TextCleaner quarantines problem rows and drops every bookkeeping feature.
"""

from __future__ import annotations

import bisect
import hashlib
from typing import Iterable, List, Sequence

import tensorflow as tf

from data.input_format import GROUP, RawRow, fold_language, parse_file
from data.splits import HOLDOUT
from models import tfrecords
from models.features import LABEL, LANG, SPLITS, TEXT

SOURCE = "source"
INGEST_PROBLEM = "ingest_problem"
INGEST_DETAIL = "ingest_detail"
SPAN_PATTERN = "span-{SPAN}/*"


def row_to_example(row: RawRow) -> tf.train.Example:
    """One row as a tf.Example; `text` is always present (possibly empty), `group` defaults to the text."""
    values = {TEXT: row.text, LABEL: row.label, LANG: row.lang, SOURCE: row.source, GROUP: row.group or row.text}
    if row.problem:
        values[INGEST_PROBLEM] = row.problem
        values[INGEST_DETAIL] = row.detail
    return tfrecords.text_example(values)


def split_names(holdout_languages: Sequence[str]) -> List[str]:
    """The output splits: train and eval, plus `holdout` when some languages are held out."""
    return list(SPLITS) + ([HOLDOUT] if holdout_languages else [])


def split_index(example: tf.train.Example, train_buckets: int, eval_buckets: int,
                holdout_languages: Sequence[str]) -> int:
    """Index into `split_names(holdout_languages)` of the split an example belongs to.

    A held-out language's rows all go to `holdout`; the others by TFX's own hash-bucket rule (sha256 of the
    serialized `group` feature, modulo the bucket total), so equal groups always share a split.
    """
    features = example.features.feature
    lang = features[LANG].bytes_list.value[0].decode("utf-8", "replace") if LANG in features else ""
    if fold_language(lang) in {fold_language(code) for code in holdout_languages}:
        return len(SPLITS)
    key = features[GROUP].SerializeToString(deterministic=True)
    bucket = int(hashlib.sha256(key).hexdigest(), 16) % (train_buckets + eval_buckets)
    return bisect.bisect([train_buckets, train_buckets + eval_buckets], bucket)


def window_spans(latest: int, window: int, available: Iterable[int]) -> List[int]:
    """The spans a rolling window of `window` spans ending at `latest` reads: those that exist, ascending."""
    first = latest - max(window, 1) + 1
    return sorted(span for span in set(available) if first <= span <= latest)


def span_pattern(span: int) -> str:
    """The glob (relative to the data root) of one span's files."""
    return SPAN_PATTERN.replace("{SPAN}", str(span))


def file_examples(path: str, data_root: str) -> Iterable[tf.train.Example]:
    """Reads one file (any filesystem tf.io.gfile knows) and yields its rows as examples."""
    with tf.io.gfile.GFile(path, "rb") as handle:
        payload = handle.read()
    root = data_root.rstrip("/") + "/"
    name = path[len(root):] if path.startswith(root) else path
    for row in parse_file(name, payload):
        yield row_to_example(row)
