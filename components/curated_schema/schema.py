"""The curated schema of the raw (cleaned) examples, built from the run configuration.

  text   bytes, exactly one value in every example (presence 100%)
  label  bytes, one value, domain = config.data.labels, L-infinity drift comparator
  lang   bytes, one value, domain = config.data.languages, L-infinity drift comparator

ExampleValidator checks statistics against it (unexpected labels or languages, missing text); the DataGate
uses the drift comparators with the previous span's statistics. Fixed shapes [1] make Transform parse the
three features as dense tensors.
"""

from __future__ import annotations

from typing import Sequence

from tensorflow_metadata.proto.v0 import schema_pb2

from models.features import LABEL, LANG, TEXT

SCHEMA_FILE = "schema.pbtxt"


def _required_string(schema: schema_pb2.Schema, name: str) -> schema_pb2.Feature:
    feature = schema.feature.add(name=name, type=schema_pb2.BYTES)
    feature.presence.min_fraction = 1.0
    feature.presence.min_count = 1
    feature.shape.dim.add(size=1)
    return feature


def curated_schema(labels: Sequence[str], languages: Sequence[str], max_label_drift: float,
                   max_language_drift: float) -> schema_pb2.Schema:
    """Builds the schema of cleaned examples.

    Args:
      labels: the configured labels (the label domain).
      languages: the configured language codes (the language domain).
      max_label_drift: L-infinity threshold between consecutive spans' label distributions.
      max_language_drift: the same for the language distribution.

    Returns:
      A tensorflow_metadata Schema.
    """
    if not labels or not languages:
        raise ValueError("the schema needs at least one label and one language")
    schema = schema_pb2.Schema()
    _required_string(schema, TEXT)
    for name, values, threshold in ((LABEL, labels, max_label_drift), (LANG, languages, max_language_drift)):
        feature = _required_string(schema, name)
        feature.domain = name
        feature.drift_comparator.infinity_norm.threshold = threshold
        schema.string_domain.add(name=name, value=list(values))
    return schema
