"""The data gate's decisions, on TFDV protos (pure; no TFX).

The gate stops the run when any of these holds:
  - ExampleValidator found a schema anomaly (named by split and feature);
  - a configured language or label has no row in some split (every one must be in train and eval);
  - the language or label distribution moved more than its threshold (L-infinity distance, the schema's
    drift comparators) since the statistics of the previous span. Without a previous span (first run)
    there is nothing to compare and the report says so.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, List, Optional, Sequence, Tuple

import tensorflow_data_validation as tfdv
from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2, statistics_pb2

from models.gates import GateRefusal

DRIFT_FEATURES = ("lang", "label")
DRIFT_SPLIT = "train"  # drift is measured on the train split of both spans


class DataGateError(GateRefusal):
    """The data gate stopped the run; the message lists every problem found."""


@dataclasses.dataclass(frozen=True)
class DriftMeasurement:
    """L-infinity distance of one feature's value distribution between the previous and the current span."""

    feature: str
    distance: float
    threshold: float

    @property
    def exceeded(self) -> bool:
        """Whether the distance is above the threshold."""
        return self.distance > self.threshold


def schema_anomalies(anomalies_by_split: Dict[str, anomalies_pb2.Anomalies]) -> List[str]:
    """One message per anomaly: split, feature, short description and description."""
    problems = []
    for split, anomalies in sorted(anomalies_by_split.items()):
        for feature, info in sorted(anomalies.anomaly_info.items()):
            problems.append(f"schema anomaly in split {split!r}, feature {feature!r}: "
                            f"{info.short_description} ({info.description})")
        for reason in anomalies.dataset_anomaly_info.reason:
            problems.append(f"schema anomaly in split {split!r} (whole dataset): {reason.short_description} "
                            f"({reason.description})")
    return problems


def _feature(stats: statistics_pb2.DatasetFeatureStatistics, name: str):
    return next((f for f in stats.features if (f.path.step and f.path.step[0] == name) or f.name == name), None)


def value_counts(stats: statistics_pb2.DatasetFeatureStatistics, feature: str) -> Dict[str, float]:
    """Count per string value of a categorical feature (from its rank histogram, else its top values)."""
    entry = _feature(stats, feature)
    if entry is None:
        return {}
    buckets = {b.label: b.sample_count for b in entry.string_stats.rank_histogram.buckets}
    return buckets or {v.value: v.frequency for v in entry.string_stats.top_values}


def coverage_problems(stats_by_split: Dict[str, statistics_pb2.DatasetFeatureStatistics],
                      expected: Dict[str, Sequence[str]]) -> List[str]:
    """Names every configured value (per feature) that has no row in some split."""
    problems = []
    for split, stats in sorted(stats_by_split.items()):
        for feature, values in expected.items():
            counts = value_counts(stats, feature)
            missing = [value for value in values if counts.get(value, 0) <= 0]
            if missing:
                problems.append(f"feature {feature!r} has no rows with {', '.join(missing)} in split {split!r} "
                                f"after cleaning (every configured value must be in every split)")
    return problems


def drift(current: statistics_pb2.DatasetFeatureStatisticsList,
          previous: statistics_pb2.DatasetFeatureStatisticsList,
          schema: schema_pb2.Schema) -> List[DriftMeasurement]:
    """L-infinity drift of the schema's drift-compared features (lang, label) against previous statistics."""
    anomalies = tfdv.validate_statistics(current, schema, previous_statistics=previous)
    measurements = []
    for info in anomalies.drift_skew_info:
        for measurement in info.drift_measurements:
            measurements.append(DriftMeasurement(".".join(info.path.step), measurement.value, measurement.threshold))
    return sorted(measurements, key=lambda m: m.feature)


def drift_problems(measurements: Sequence[DriftMeasurement], previous_span: Optional[int], span: int) -> List[str]:
    """One message per feature whose drift exceeded its threshold, naming the spans and the config field."""
    return [f"feature {m.feature!r} drifted by {m.distance:.3f} (L-infinity) between span {previous_span} and "
            f"span {span}, above the threshold {m.threshold} (config.gate.max_"
            f"{'language' if m.feature == 'lang' else m.feature}_drift)"
            for m in measurements if m.exceeded]


def gate_report(stats_by_split: Dict[str, statistics_pb2.DatasetFeatureStatisticsList],
                anomalies_by_split: Dict[str, anomalies_pb2.Anomalies], expected: Dict[str, Sequence[str]],
                span: int, schema: schema_pb2.Schema,
                previous: Optional[Tuple[int, statistics_pb2.DatasetFeatureStatisticsList]]) -> Dict[str, object]:
    """Everything the gate checks, as the JSON-ready report it writes; `problems` lists why it stops (if any).

    Args:
      stats_by_split: this span's statistics per split.
      anomalies_by_split: ExampleValidator's anomalies per split.
      expected: the configured values per feature (lang, label) that every split must contain.
      span: this span's number.
      schema: the curated schema (its drift comparators set the thresholds).
      previous: (span, train statistics) of the newest earlier span, or None on the first span.
    """
    datasets = {split: stats.datasets[0] for split, stats in stats_by_split.items()}
    problems = schema_anomalies(anomalies_by_split) + coverage_problems(datasets, expected)
    report: Dict[str, object] = {"span": span, "counts": {split: {f: value_counts(d, f) for f in expected}
                                                         for split, d in datasets.items()}}
    if previous is None:
        report["drift"] = f"not checked: no statistics of a span before span {span} (first span)"
    else:
        previous_span, previous_stats = previous
        measurements = drift(stats_by_split[DRIFT_SPLIT], previous_stats, schema)
        report["previous_span"] = previous_span
        report["drift"] = [vars(m) for m in measurements]
        problems += drift_problems(measurements, previous_span, span)
    report["problems"] = problems
    return report
