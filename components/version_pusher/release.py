"""What the VersionPusher decides from: both blessings, the reasons a candidate was refused, its metrics."""

from __future__ import annotations

import json
import os
from typing import Dict, List, Optional

import tensorflow as tf

from models.evaluation import gate

BLESSED_PROPERTY = "blessed"
SERVING_CHECK_REPORT = "serving_check.json"
TRAINING_REPORT = "training_report.json"
_REPORTED_METRICS = {gate.MACRO_F1: "macro_f1", gate.ACCURACY: "accuracy", gate.EXAMPLE_COUNT: "examples"}


def is_blessed(blessing) -> bool:
    """True when a ModelBlessing / InfraBlessing artifact carries `blessed` = 1."""
    return blessing.has_custom_property(BLESSED_PROPERTY) and \
        blessing.get_int_custom_property(BLESSED_PROPERTY) == 1


def refusal_reasons(model_blessed: bool, infra_blessed: bool, evaluation_uri: Optional[str],
                    infra_blessing_uri: str) -> List[str]:
    """Why the candidate may not be pushed (empty when both gates blessed it), one line per reason."""
    reasons = []
    if not model_blessed:
        failures = _gate_failures(evaluation_uri)
        reasons += [f"model gate: {failure}" for failure in failures] or ["model gate: not blessed"]
    if not infra_blessed:
        problems = read_json(os.path.join(infra_blessing_uri, SERVING_CHECK_REPORT)).get("problems", [])
        reasons += [f"serving check: {problem}" for problem in problems] or ["serving check: not blessed"]
    return reasons


def evaluation_metrics(evaluation_uri: Optional[str], compared_with_baseline: bool) -> Dict[str, object]:
    """{"overall": {macro_f1, accuracy, examples}, "per_language": {lang: {...}}} of the candidate.

    With a baseline the Evaluator names the models "candidate" and "baseline"; alone, the model is unnamed.
    """
    if not evaluation_uri or not tf.io.gfile.isdir(evaluation_uri):
        return {"overall": {}, "per_language": {}}
    import tensorflow_model_analysis as tfma

    result = tfma.load_eval_result(evaluation_uri, model_name="candidate" if compared_with_baseline else None)
    metrics: Dict[str, object] = {"overall": {}, "per_language": {}}
    for slice_key, by_output in result.slicing_metrics:
        values = {_REPORTED_METRICS[name]: round(float(value["doubleValue"]), 4)
                  for name, value in by_output[""][""].items() if name in _REPORTED_METRICS}
        if not slice_key:
            metrics["overall"] = values
        elif len(slice_key) == 1:
            metrics["per_language"][str(slice_key[0][1])] = values
    return metrics


def read_json(path: str) -> Dict[str, object]:
    """A JSON object file, or {} when it does not exist."""
    if not tf.io.gfile.exists(path):
        return {}
    with tf.io.gfile.GFile(path) as f:
        return json.load(f)


def _gate_failures(evaluation_uri: Optional[str]) -> List[str]:
    if not evaluation_uri:
        return []
    try:
        return [str(failure) for failure in gate.read_failures(evaluation_uri)]
    except FileNotFoundError:
        return []
