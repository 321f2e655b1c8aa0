"""The alert rules: both files hold the same groups, and every rule reads a gauge the monitor writes with
the labels it sets."""

import os
import re

import yaml

from monitoring import metrics
from monitoring.analysis import ACCURACY, LANGUAGE_MIX, LENGTH, LOW_CONFIDENCE, PREDICTION, UNTRAINED

DEPLOY = os.path.join(os.path.dirname(__file__), "..", "..", "serving", "deploy")
REPORT = {"model": "nlp2prod", "breach": True, "generated_at_seconds": 1.0, "alerts": [
    {"version": 2, "feature": UNTRAINED, "language": "es"}], "versions": {"2": {
        "language_drift": 0.1, "untrained_share": 0.2, "language_share": {"es": 0.2, "en": 0.8},
        "reference": {"detected_language_share": {"en": 1.0}}, "live": {"en": {"accuracy": 0.9, "macro_f1": 0.8,
                                                                              "labels": 40}},
        "languages": {lang: {"texts": 10, "trained": lang == "en", "low_confidence_share": 0.1,
                             "length": {"js_divergence": 0.01}, "prediction_drift": 0.1} for lang in ("en", "es")}}}}


def _load(*parts):
    with open(os.path.join(DEPLOY, *parts), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def test_prometheus_rule_and_rules_file_hold_the_same_groups():
    rule = _load("k8s", "monitoring", "prometheus-rule.yaml")
    assert rule["kind"] == "PrometheusRule" and rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["spec"]["groups"] == _load("monitoring-rules.yml")["groups"]


def test_every_rule_reads_a_written_gauge_and_every_alert_feature_has_a_rule():
    exposition = metrics.exposition(REPORT).decode("utf-8")
    written = set(re.findall(r"^(nlp2prod_monitor_\w+)\{", exposition, re.M))
    rules = _load("monitoring-rules.yml")["groups"][0]["rules"]
    features = set()
    for rule in rules:
        names = set(re.findall(r"nlp2prod_monitor_\w+", rule["expr"]))
        assert names and names <= written, rule["alert"]
        features |= set(re.findall(r'feature="(\w+)"', rule["expr"]))
        assert rule["labels"]["severity"] in ("warning", "critical")
    assert features == {UNTRAINED, LANGUAGE_MIX, LENGTH, PREDICTION, LOW_CONFIDENCE, ACCURACY}
    assert 'nlp2prod_monitor_alert{feature="untrained_language",language="es",model="nlp2prod",version="2"} 1.0' \
        in exposition
    assert 'nlp2prod_monitor_untrained_language_share{language="es",model="nlp2prod",version="2"} 0.2' in exposition


def test_monitor_cronjob_runs_the_monitor_on_the_pipeline_claims():
    job = _load("k8s", "monitoring", "monitor-cronjob.yaml")
    container = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["nlp2prod", "monitor"]
    claims = {v["persistentVolumeClaim"]["claimName"]
              for v in job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["volumes"]}
    assert claims == {"nlp2prod-home", "nlp2prod-models"}
