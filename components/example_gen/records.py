"""Input rows -> tf.Examples, and which spans a rolling window reads (pure functions, no TFX).

Besides the raw features (text, label, lang) every example carries `source` (`span-N/file:line`, so the
quarantine can point at the user's line) and, when the reader could not parse the line, `ingest_problem`
and `ingest_detail`.
The TextCleaner quarantines problem rows and drops both bookkeeping features.
"""

from __future__ import annotations

from typing import Iterable, List

import tensorflow as tf

from models.features import LABEL, LANG, TEXT
from data.input_format import RawRow, parse_file

SOURCE = "source"
INGEST_PROBLEM = "ingest_problem"
INGEST_DETAIL = "ingest_detail"
SPAN_PATTERN = "span-{SPAN}/*"


def _bytes_feature(value: str) -> tf.train.Feature:
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value.encode("utf-8", "replace")]))


def row_to_example(row: RawRow) -> tf.train.Example:
    """One row as a tf.Example; `text` is always present (possibly empty) because the split hashes it."""
    values = {TEXT: row.text, LABEL: row.label, LANG: row.lang, SOURCE: row.source}
    if row.problem:
        values[INGEST_PROBLEM] = row.problem
        values[INGEST_DETAIL] = row.detail
    features = {key: _bytes_feature(value) for key, value in values.items()}
    return tf.train.Example(features=tf.train.Features(feature=features))


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
