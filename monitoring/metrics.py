"""Prometheus gauges of a monitoring report, per version and language (text format for a textfile collector
or for the gateway's /metrics).

    nlp2prod_monitor_texts{model,version,language}
    nlp2prod_monitor_language_share{model,version,language}            (and _training_language_share)
    nlp2prod_monitor_language_drift{model,version}                     L-infinity
    nlp2prod_monitor_untrained_share{model,version}                    (and per language: _untrained_language_share)
    nlp2prod_monitor_length_drift{model,version,language}              Jensen-Shannon
    nlp2prod_monitor_prediction_drift{model,version,language}          L-infinity
    nlp2prod_monitor_low_confidence_share{model,version,language}
    nlp2prod_monitor_live_accuracy{model,version,language}             (and _live_macro_f1, _live_labels)
    nlp2prod_monitor_alert{model,version,feature,language}             1 per firing alert
    nlp2prod_monitor_breach{model}                                     1 when any alert fired
    nlp2prod_monitor_run_timestamp_seconds{model}                      when the report was made
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge, generate_latest

PREFIX = "nlp2prod_monitor_"
_PER_LANGUAGE = {
    "texts": "Logged texts in the window.",
    "language_share": "Share of the window's texts in this language (detected).",
    "training_language_share": "Share of training texts in this language (detected the same way).",
    "untrained_language_share": "Share of the window's texts in this language, which the version was not trained on.",
    "length_drift": "Jensen-Shannon divergence of text length against training.",
    "prediction_drift": "L-infinity distance of predicted labels against training labels.",
    "low_confidence_share": "Share of texts whose top probability is under the low-confidence threshold.",
    "live_accuracy": "Accuracy on feedback labels.",
    "live_macro_f1": "Macro-F1 on feedback labels.",
    "live_labels": "Feedback labels joined to logged texts.",
}


def registry_of(report: dict) -> CollectorRegistry:
    """A fresh registry holding the report's gauges."""
    registry = CollectorRegistry(auto_describe=False)
    model = report["model"]
    per_language = {name: Gauge(PREFIX + name, text, ["model", "version", "language"], registry=registry)
                    for name, text in _PER_LANGUAGE.items()}
    drift = Gauge(PREFIX + "language_drift", "L-infinity distance of the language mix against training.",
                  ["model", "version"], registry=registry)
    untrained = Gauge(PREFIX + "untrained_share", "Share of texts in languages the version was not trained on.",
                      ["model", "version"], registry=registry)
    alert = Gauge(PREFIX + "alert", "1 for each alert of this run.", ["model", "version", "feature", "language"],
                  registry=registry)
    Gauge(PREFIX + "breach", "1 when the run raised any alert.", ["model"], registry=registry).labels(model).set(
        1.0 if report["breach"] else 0.0)
    Gauge(PREFIX + "run_timestamp_seconds", "When this monitoring report was made.", ["model"],
          registry=registry).labels(model).set(report.get("generated_at_seconds", 0.0))
    for version, section in report["versions"].items():
        drift.labels(model, version).set(section["language_drift"])
        untrained.labels(model, version).set(section["untrained_share"])
        _language_gauges(per_language, model, version, section)
    for item in report["alerts"]:
        alert.labels(model, str(item["version"]), item["feature"], item["language"]).set(1.0)
    return registry


def _language_gauges(gauges: dict, model: str, version: str, section: dict) -> None:
    reference_share = section["reference"]["detected_language_share"]
    for lang, summary in section["languages"].items():
        labels = (model, version, lang)
        gauges["texts"].labels(*labels).set(summary["texts"])
        gauges["language_share"].labels(*labels).set(section["language_share"].get(lang, 0.0))
        gauges["training_language_share"].labels(*labels).set(reference_share.get(lang, 0.0))
        if not summary["trained"]:
            gauges["untrained_language_share"].labels(*labels).set(section["language_share"].get(lang, 0.0))
        if summary["length"]["js_divergence"] is not None:
            gauges["length_drift"].labels(*labels).set(summary["length"]["js_divergence"])
        if "prediction_drift" in summary:
            gauges["prediction_drift"].labels(*labels).set(summary["prediction_drift"])
        gauges["low_confidence_share"].labels(*labels).set(summary["low_confidence_share"])
    for lang, live in section["live"].items():
        gauges["live_accuracy"].labels(model, version, lang).set(live["accuracy"])
        gauges["live_macro_f1"].labels(model, version, lang).set(live["macro_f1"])
        gauges["live_labels"].labels(model, version, lang).set(live["labels"])


def exposition(report: dict) -> bytes:
    """The report's gauges in Prometheus' text format."""
    return generate_latest(registry_of(report))
