"""VersionPusher executor: artifacts → paths, the release decision, the atomic push, the PushedModel record."""

from __future__ import annotations

import json
import logging
import os
from typing import Any, Dict, List, Optional

import tensorflow as tf
from tfx import types
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils
from tfx.utils import path_utils

from components.serving_check.servability import split_texts
from components.version_pusher import push, release
from models.classifier import candidates

PUSH_REPORT = "push_report.json"
MODEL_URI_FIELD = "model_uri"


class Executor(base_executor.BaseExecutor):
    """Pushes when both blessings are positive; always writes push_report.json; never raises on a refusal."""

    def Do(self, input_dict: Dict[str, List[types.Artifact]], output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]) -> None:
        model = artifact_utils.get_single_instance(input_dict["model"])
        evaluation_uri = _optional_uri(input_dict, "model_evaluation")
        infra = artifact_utils.get_single_instance(input_dict["infra_blessing"])
        model_blessing = artifact_utils.get_single_instance(input_dict["model_blessing"])
        pushed = artifact_utils.get_single_instance(output_dict["pushed_model"])
        reasons = release.refusal_reasons(release.is_blessed(model_blessing), release.is_blessed(infra),
                                          evaluation_uri, infra.uri)
        serving_root, name = exec_properties["serving_root"], exec_properties["model_name"]
        already = _version_of(model.uri, os.path.join(serving_root, name))
        if already is not None:
            # A re-run on unchanged data blesses the same model against itself: it is already served.
            reasons.append(f"this model ({model.uri}) is already version {already} of {name!r}; nothing new to push")
        if reasons:
            logging.warning("VersionPusher: not pushed:\n  - %s", "\n  - ".join(reasons))
            pushed.set_int_custom_property("pushed", 0)
            _write_report(pushed, {"pushed": False, "reasons": reasons})
            return
        split_uri = artifact_utils.get_split_uri(input_dict["examples"], exec_properties["example_split"])
        texts = split_texts(split_uri, int(exec_properties["warmup_per_language"]))
        metadata = self._metadata(input_dict, exec_properties, model, evaluation_uri)
        model_dir = path_utils.serving_model_path(model.uri, path_utils.is_old_model_artifact(model))
        version = push.push_version(model_dir, serving_root, name, push.warmup_requests(texts, name), metadata)
        destination = os.path.join(serving_root, name, str(version))
        pushed.set_int_custom_property("pushed", 1)
        pushed.set_int_custom_property("pushed_version", version)
        pushed.set_string_custom_property("pushed_destination", destination)
        _write_report(pushed, {"pushed": True, "version": version, "destination": destination,
                               "metrics": metadata["metrics"], "sparsity": metadata["sparsity"],
                               "generalization": metadata["generalization"],
                               "saved_model_bytes": _pushed_bytes(destination)})
        logging.info("VersionPusher: pushed %s version %d to %s", name, version, destination)

    def _metadata(self, input_dict, exec_properties, model, evaluation_uri) -> Dict[str, Any]:
        run_uri = _optional_uri(input_dict, "model_run")
        training = release.read_json(os.path.join(run_uri, release.TRAINING_REPORT)) if run_uri else {}
        context = self._context
        examples = input_dict["examples"][0]
        compared = bool(_optional_uri(input_dict, "baseline_model"))
        return {
            "run_id": getattr(context, "pipeline_run_id", None),
            "pipeline_name": context.pipeline_info.id if context and context.pipeline_info else None,
            "data_spans": [int(examples.span)] if examples.has_property("span") else [],
            "labels": json.loads(exec_properties["labels"]),
            "metrics": release.evaluation_metrics(evaluation_uri, compared),
            "baseline_version": _baseline_version(input_dict, exec_properties),
            "sparsity": training.get("sparsity", {}).get("overall"),
            "sparsity_per_kernel": {k: v for k, v in training.get("sparsity", {}).items() if k != "overall"},
            "generalization": candidates.generalization_summary(training),
            MODEL_URI_FIELD: model.uri,
        }


def _baseline_version(input_dict, exec_properties) -> Optional[int]:
    """The pushed version whose metadata names the baseline model artifact, if any."""
    baseline_uri = _optional_uri(input_dict, "baseline_model")
    if not baseline_uri:
        return None
    return _version_of(baseline_uri, os.path.join(exec_properties["serving_root"], exec_properties["model_name"]))


def _version_of(model_uri: str, model_root: str) -> Optional[int]:
    """The newest pushed version whose metadata names this Model artifact, or None."""
    for version in reversed(push.existing_versions(model_root)):
        metadata = release.read_json(os.path.join(model_root, str(version), push.METADATA_FILE))
        if metadata.get(MODEL_URI_FIELD) == model_uri:
            return version
    return None


def _optional_uri(input_dict, key: str) -> Optional[str]:
    artifacts = input_dict.get(key) or []
    return artifacts[0].uri if artifacts else None


def _pushed_bytes(destination: str) -> int:
    metadata = release.read_json(os.path.join(destination, push.METADATA_FILE))
    return int(metadata.get("saved_model_bytes", 0))


def _write_report(pushed: types.Artifact, report: Dict[str, Any]) -> None:
    tf.io.gfile.makedirs(pushed.uri)
    with tf.io.gfile.GFile(os.path.join(pushed.uri, PUSH_REPORT), "w") as f:
        json.dump(report, f, indent=1, ensure_ascii=False)
