"""Reading and writing the gzipped TFRecord files of an Examples artifact's split folder."""

from __future__ import annotations

import os
from typing import Iterable, Iterator, Mapping

import tensorflow as tf


def split_files(split_uri: str) -> list:
    """The record files of one split folder (`Split-<name>/`), sorted; raises when the folder is missing."""
    if not tf.io.gfile.isdir(split_uri):
        raise FileNotFoundError(f"split folder {split_uri} does not exist")
    return sorted(os.path.join(split_uri, name) for name in tf.io.gfile.listdir(split_uri)
                  if not name.endswith("/"))


def read_examples(split_uri: str) -> Iterator[tf.train.Example]:
    """Yields the tf.Examples of one split folder, file by file, in file order."""
    for path in split_files(split_uri):
        compression = "GZIP" if path.endswith(".gz") else ""
        for record in tf.data.TFRecordDataset(path, compression_type=compression).as_numpy_iterator():
            yield tf.train.Example.FromString(record)


def write_examples(split_uri: str, examples: Iterable[tf.train.Example]) -> int:
    """Writes examples as one gzipped TFRecord file in `split_uri`; returns how many were written."""
    tf.io.gfile.makedirs(split_uri)
    count = 0
    path = os.path.join(split_uri, "data_tfrecord-00000-of-00001.gz")
    with tf.io.TFRecordWriter(path, options="GZIP") as writer:
        for example in examples:
            writer.write(example.SerializeToString())
            count += 1
    return count


def string_value(example: tf.train.Example, key: str) -> str:
    """The first bytes value of a feature, decoded as UTF-8 ('' when absent)."""
    feature = example.features.feature.get(key)
    if feature is None or not feature.bytes_list.value:
        return ""
    return feature.bytes_list.value[0].decode("utf-8", "replace")


def text_example(values: Mapping[str, str]) -> tf.train.Example:
    """A tf.Example of string features (UTF-8 bytes, one value each): the raw rows' format."""
    feature = {key: tf.train.Feature(bytes_list=tf.train.BytesList(value=[value.encode("utf-8", "replace")]))
               for key, value in values.items()}
    return tf.train.Example(features=tf.train.Features(feature=feature))
