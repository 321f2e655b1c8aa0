"""What a version was trained on, as the monitor compares against it: the run's StatisticsGen output and the
cleaned training examples that StatisticsGen described (found through lineage, `monitoring.lineage_lookup`).

From the statistics (TFDV's DatasetFeatureStatisticsList, `Split-train/FeatureStats.pb`): the trained languages
(the `lang` values), their declared shares, the label shares and the mean text length. From the examples
(`Split-train/*.gz`, tf.Example TFRecords): the same features the request log derives from live texts —
detected language, length histogram and label shares per detected language — computed by the same code, so
that training and serving are measured alike (the detector's own errors cancel out).
"""

from __future__ import annotations

import collections
import dataclasses
import glob
import json
import os
from typing import Dict, List, Sequence, Tuple

from tensorflow_metadata.proto.v0 import statistics_pb2

from monitoring import distributions
from monitoring.language import canonical_language, shared_detector
from monitoring.log_protos import Example
from serving import record_files

STATS_FILE = "FeatureStats.pb"
TRAIN_SPLIT = "Split-train"
ALL_LANGUAGES = "all"


class ReferenceError(LookupError):
    """The training statistics or examples cannot be found or read; the message names the path."""


@dataclasses.dataclass
class TrainingReference:
    """The training side of every comparison (JSON-ready through `to_dict`)."""

    source: Dict[str, object]
    examples: int
    trained_languages: Tuple[str, ...]
    declared_language_share: Dict[str, float]
    label_share: Dict[str, float]
    mean_text_bytes: float
    detected_language_share: Dict[str, float]
    untrained_share: float
    per_language: Dict[str, dict]

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TrainingReference":
        return cls(**dict(data, trained_languages=tuple(data["trained_languages"])))


def _feature(stats: statistics_pb2.DatasetFeatureStatistics, name: str):
    for feature in stats.features:
        if (feature.path.step and feature.path.step[0] == name) or feature.name == name:
            return feature
    raise ReferenceError(f"the training statistics have no feature {name!r}")


def _value_counts(stats, name: str) -> Dict[str, float]:
    string_stats = _feature(stats, name).string_stats
    buckets = string_stats.rank_histogram.buckets
    if buckets:
        return {b.label: float(b.sample_count) for b in buckets}
    return {v.value: float(v.frequency) for v in string_stats.top_values}


def read_statistics(statistics_uri: str) -> statistics_pb2.DatasetFeatureStatistics:
    """The train split's statistics of a StatisticsGen output folder (or a FeatureStats.pb path)."""
    path = statistics_uri if statistics_uri.endswith(".pb") else os.path.join(statistics_uri, TRAIN_SPLIT, STATS_FILE)
    try:
        with open(path, "rb") as handle:
            stats_list = statistics_pb2.DatasetFeatureStatisticsList.FromString(handle.read())
    except OSError as error:
        raise ReferenceError(f"cannot read the training statistics {path}: {error.strerror}") from None
    if not stats_list.datasets:
        raise ReferenceError(f"{path} holds no dataset statistics")
    return stats_list.datasets[0]


def read_examples(examples_uri: str) -> List[Tuple[str, str, str]]:
    """(text, label, lang) of the train split of an Examples folder (or of one TFRecord file)."""
    paths = [examples_uri] if os.path.isfile(examples_uri) else \
        sorted(glob.glob(os.path.join(examples_uri, TRAIN_SPLIT, "*")))
    if not paths:
        raise ReferenceError(f"no training examples under {examples_uri}/{TRAIN_SPLIT}")
    rows = []
    for path in paths:
        for payload in record_files.read_records(path):
            feature = Example.FromString(payload).features.feature
            values = [feature[key].bytes_list.value[0].decode("utf-8", "replace")
                      if key in feature and feature[key].bytes_list.value else "" for key in ("text", "label", "lang")]
            rows.append(tuple(values))
    return rows


def build_reference(statistics_uri: str, examples_uri: str, languages: Sequence[str], **source) -> TrainingReference:
    """The reference of one training run from its statistics and examples.

    Raises:
      ReferenceError: missing or unreadable statistics or examples.
    """
    stats = read_statistics(statistics_uri)
    declared = _value_counts(stats, "lang")
    trained = tuple(sorted({canonical_language(lang) for lang, count in declared.items() if count > 0}))
    rows = read_examples(examples_uri)
    detected = [d.language for d in shared_detector(tuple(languages)).detect([text for text, _, _ in rows])]
    by_language: Dict[str, List[Tuple[str, str]]] = collections.defaultdict(list)
    for (text, label, _), language in zip(rows, detected):
        by_language[language].append((text, label))
        by_language[ALL_LANGUAGES].append((text, label))
    per_language = {lang: {"texts": len(items),
                           "mean_length": sum(len(t) for t, _ in items) / len(items),
                           "length_histogram": distributions.length_histogram([len(t) for t, _ in items]),
                           "label_share": distributions.shares(label for _, label in items)}
                    for lang, items in sorted(by_language.items())}
    detected_share = distributions.shares(detected)
    return TrainingReference(
        source=dict(source, statistics=statistics_uri, examples=examples_uri), examples=int(stats.num_examples),
        trained_languages=trained,
        declared_language_share=distributions.normalise(_merged(declared)),
        label_share=distributions.normalise(_value_counts(stats, "label")),
        mean_text_bytes=float(_feature(stats, "text").string_stats.avg_length),
        detected_language_share=detected_share,
        untrained_share=sum(share for lang, share in detected_share.items() if lang not in trained),
        per_language=per_language)


def _merged(counts: Dict[str, float]) -> Dict[str, float]:
    merged: Dict[str, float] = collections.Counter()
    for lang, count in counts.items():
        merged[canonical_language(lang)] += count
    return dict(sorted(merged.items()))


def save_reference(reference: TrainingReference, path: str) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(reference.to_dict(), handle, indent=1, ensure_ascii=False, sort_keys=True)


def load_reference(path: str) -> TrainingReference:
    with open(path, encoding="utf-8") as handle:
        return TrainingReference.from_dict(json.load(handle))
