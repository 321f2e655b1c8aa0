"""The monitor's core: one version's logged texts in a window against its training reference, and the alerts.

Pure functions on plain data (rows from `log_reader`, a `TrainingReference`, a `MonitorConfig`, feedback labels),
so every figure can be checked by hand. Each alert names its feature, its language and, where one moved, the
label; an alert fires only on enough texts (`min_window_texts` for the version, `min_language_texts` per
language).
"""

from __future__ import annotations

import collections
import dataclasses
from typing import Dict, List, Mapping, Sequence

from monitoring import distributions
from monitoring.config import MonitorConfig
from monitoring.feedback import live_accuracy
from monitoring.log_reader import LoggedText
from monitoring.reference import TrainingReference

LANGUAGE_MIX, UNTRAINED, LENGTH = "language_mix", "untrained_language", "text_length"
PREDICTION, LOW_CONFIDENCE, ACCURACY = "predicted_label", "low_confidence", "live_accuracy"


@dataclasses.dataclass(frozen=True)
class Alert:
    feature: str
    language: str
    value: float
    threshold: float
    message: str
    label: str = ""
    version: int = 0

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _language_summary(rows: Sequence[LoggedText], reference: TrainingReference, config: MonitorConfig) -> dict:
    language = rows[0].language
    trained = reference.per_language.get(language)
    if trained and trained["texts"] < config.min_language_texts:
        trained = None  # a handful of training texts detected as this language are no distribution to compare with
    histogram = distributions.length_histogram([r.char_count for r in rows])
    predicted = distributions.shares(r.predicted for r in rows)
    summary = {
        "texts": len(rows), "trained": language in reference.trained_languages,
        "length": {"mean": sum(r.char_count for r in rows) / len(rows),
                   "p50": distributions.quantile([r.char_count for r in rows], 0.5),
                   "p90": distributions.quantile([r.char_count for r in rows], 0.9),
                   "histogram": histogram, "training_histogram": trained["length_histogram"] if trained else None,
                   "training_mean": trained["mean_length"] if trained else None,
                   "js_divergence": distributions.jensen_shannon(histogram, trained["length_histogram"])
                   if trained else None},
        "predicted_labels": predicted, "training_labels": trained["label_share"] if trained else None,
        "low_confidence_share": sum(r.max_probability < config.low_confidence for r in rows) / len(rows),
        "mean_max_probability": sum(r.max_probability for r in rows) / len(rows),
        "mean_margin": sum(r.margin for r in rows) / len(rows),
        "mean_entropy": sum(r.entropy for r in rows) / len(rows),
    }
    if trained:
        summary["prediction_drift"], summary["prediction_drift_label"] = distributions.l_infinity(
            predicted, trained["label_share"])
    return summary


def _series(rows: Sequence[LoggedText], start: float, end: float, buckets: int, trained: Sequence[str]) -> List[dict]:
    """Per-language shares in `buckets` equal slices of the part of the window that has traffic."""
    if rows:
        start, end = max(start, min(r.timestamp for r in rows)), min(end, max(r.timestamp for r in rows) + 1)
    width = max(1.0, (end - start) / max(1, buckets))
    grouped: Dict[int, List[LoggedText]] = collections.defaultdict(list)
    for row in rows:
        grouped[min(buckets - 1, int((row.timestamp - start) // width))].append(row)
    series = []
    for index in range(buckets):
        items = grouped.get(index, [])
        series.append({"start": start + index * width, "texts": len(items),
                       "language_share": distributions.shares(r.language for r in items),
                       "untrained_share": sum(r.language not in trained for r in items) / len(items) if items else 0.0})
    return series


def analyse_version(rows: Sequence[LoggedText], reference: TrainingReference, config: MonitorConfig,
                    feedback: Mapping[str, str], start: float, end: float) -> dict:
    """The report section of one version: overall figures, per-language figures, series and alerts."""
    by_language: Dict[str, List[LoggedText]] = collections.defaultdict(list)
    for row in rows:
        by_language[row.language].append(row)
    mix = distributions.shares(r.language for r in rows)
    drift, moved = distributions.l_infinity(mix, reference.detected_language_share)
    untrained = {lang: share for lang, share in mix.items() if lang not in reference.trained_languages}
    section = {
        "texts": len(rows), "requests": len({r.request_id for r in rows}),
        "reference": {key: value for key, value in reference.to_dict().items() if key != "per_language"},
        "language_share": mix, "language_drift": drift, "language_drift_language": moved,
        "untrained_share": sum(untrained.values()), "untrained_languages": untrained,
        "languages": {lang: _language_summary(items, reference, config) for lang, items in sorted(by_language.items())},
        "live": live_accuracy(rows, feedback),
        "series": _series(rows, start, end, config.series_buckets, reference.trained_languages),
    }
    section["alerts"] = [a.to_dict() for a in alerts_of(section, reference, config)]
    return section


def alerts_of(section: dict, reference: TrainingReference, config: MonitorConfig) -> List[Alert]:
    """Every threshold the section breaks (none below `min_window_texts` texts)."""
    if section["texts"] < config.min_window_texts:
        return []
    alerts = []
    if section["language_drift"] > config.max_language_drift:
        lang = section["language_drift_language"]
        alerts.append(Alert(LANGUAGE_MIX, lang, section["language_drift"], config.max_language_drift,
                            f"language mix moved: {lang} is {section['language_share'].get(lang, 0):.1%} of texts, "
                            f"{reference.detected_language_share.get(lang, 0):.1%} in training (L-infinity)"))
    excess = section["untrained_share"] - reference.untrained_share
    if excess > config.max_untrained_share:
        worst = max(section["untrained_languages"].items(), key=lambda item: item[1])
        alerts.append(Alert(UNTRAINED, worst[0], excess, config.max_untrained_share,
                            f"{section['untrained_share']:.1%} of texts are in languages the model was not trained "
                            f"on ({reference.untrained_share:.1%} in training); most: {worst[0]} ({worst[1]:.1%})"))
    for lang, summary in section["languages"].items():
        if summary["texts"] >= config.min_language_texts:
            alerts += _language_alerts(lang, summary, config)
    for lang, live in section["live"].items():
        if lang != "all" and live["labels"] >= config.min_feedback_labels and \
                live["accuracy"] < config.min_live_accuracy:
            alerts.append(Alert(ACCURACY, lang, live["accuracy"], config.min_live_accuracy,
                                f"live accuracy in {lang} is {live['accuracy']:.1%} on {live['labels']} labels"))
    return alerts


def _language_alerts(lang: str, summary: dict, config: MonitorConfig) -> List[Alert]:
    alerts = []
    divergence = summary["length"]["js_divergence"]
    if divergence is not None and divergence > config.max_length_drift:
        alerts.append(Alert(LENGTH, lang, divergence, config.max_length_drift,
                            f"text length in {lang} moved: mean {summary['length']['mean']:.0f} characters, "
                            f"{summary['length']['training_mean']:.0f} in training (Jensen-Shannon)"))
    if summary.get("prediction_drift", 0.0) > config.max_prediction_drift:
        label = summary["prediction_drift_label"]
        alerts.append(Alert(PREDICTION, lang, summary["prediction_drift"], config.max_prediction_drift,
                            f"predicted {label!r} for {summary['predicted_labels'].get(label, 0):.1%} of {lang} "
                            f"texts; {summary['training_labels'].get(label, 0):.1%} of training labels", label=label))
    if summary["low_confidence_share"] > config.max_low_confidence_share:
        alerts.append(Alert(LOW_CONFIDENCE, lang, summary["low_confidence_share"], config.max_low_confidence_share,
                            f"{summary['low_confidence_share']:.1%} of {lang} texts have a top probability under "
                            f"{config.low_confidence}"))
    return alerts
