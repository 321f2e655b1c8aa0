"""What the VersionPusher decides from: both blessings, the reasons a candidate was refused, its metrics."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import tensorflow as tf

from models import artifact_reports
from models.evaluation import gate
from serving import layout

MODEL_URI_FIELD = "model_uri"  # version metadata: the Model artifact a version was pushed from
_REPORTED_METRICS = {gate.MACRO_F1: "macro_f1", gate.ACCURACY: "accuracy", gate.EXAMPLE_COUNT: "examples"}


def is_blessed(blessing) -> bool:
    """True when a ModelBlessing / InfraBlessing artifact carries `blessed` = 1."""
    return blessing.has_custom_property(artifact_reports.BLESSED_PROPERTY) and \
        blessing.get_int_custom_property(artifact_reports.BLESSED_PROPERTY) == 1


def refusal_reasons(model_blessed: bool, infra_blessed: bool, evaluation_uri: Optional[str],
                    infra_blessing_uri: str) -> List[str]:
    """Why the candidate may not be pushed (empty when both gates blessed it), one line per reason."""
    reasons = []
    if not model_blessed:
        failures = _gate_failures(evaluation_uri)
        reasons += [f"model gate: {failure}" for failure in failures] or ["model gate: not blessed"]
    if not infra_blessed:
        problems = artifact_reports.read(infra_blessing_uri, artifact_reports.SERVING_CHECK_REPORT).get("problems", [])
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


def version_of(model_uri: str, model_root: str) -> Optional[int]:
    """The newest pushed version whose metadata names this Model artifact, or None."""
    for version, metadata in sorted(layout.pushed_versions(model_root).items(), reverse=True):
        if metadata.get(MODEL_URI_FIELD) == model_uri:
            return version
    return None


def already_pushed_reason(model_uri: str, model_root: str, model_name: str) -> Optional[str]:
    """Why this model must not be pushed again (a cached re-run blesses it against itself), or None."""
    version = version_of(model_uri, model_root)
    if version is None:
        return None
    return f"this model ({model_uri}) is already version {version} of {model_name!r}; nothing new to push"


def version_metadata(model_uri: str, labels: List[str], evaluation_uri: Optional[str], compared_with_baseline: bool,
                     training_report: Dict[str, Any], baseline_version: Optional[int],
                     run: Dict[str, Any]) -> Dict[str, Any]:
    """The fields of the version's nlp2prod_metadata.json that the pusher knows before the push.

    Args:
      model_uri: the pushed Model artifact's uri (recorded so a re-run recognises it).
      labels: class names in output order.
      evaluation_uri: the Evaluator's output, or None when the pipeline has no Evaluator.
      compared_with_baseline: the Evaluator compared the candidate with a baseline model.
      training_report: the Trainer's training_report.json ({} when absent).
      baseline_version: the version the candidate was compared with, if any.
      run: run_id, pipeline_name and data_spans of the run that pushes.
    """
    sparsity = training_report.get("sparsity", {})
    return dict(run, labels=list(labels),
                metrics=evaluation_metrics(evaluation_uri, compared_with_baseline),
                baseline_version=baseline_version, sparsity=sparsity.get("overall"),
                sparsity_per_kernel={k: v for k, v in sparsity.items() if k != "overall"},
                **{MODEL_URI_FIELD: model_uri})


def _gate_failures(evaluation_uri: Optional[str]) -> List[str]:
    if not evaluation_uri:
        return []
    try:
        return [str(failure) for failure in gate.read_failures(evaluation_uri)]
    except FileNotFoundError:
        return []
