"""VersionPusher executor: artifacts → paths and back; the release decision and the push are release.py's and
push.py's."""

from __future__ import annotations

import json
import logging
import os
from typing import Any, Dict, List, Optional

from tfx import types
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils
from tfx.utils import path_utils

from components.serving_check.servability import split_texts
from components.version_pusher import push, release
from models import artifact_reports


class Executor(base_executor.BaseExecutor):
    """Pushes when both blessings are positive; always writes push_report.json; never raises on a refusal."""

    def Do(self, input_dict: Dict[str, List[types.Artifact]], output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]) -> None:
        model = artifact_utils.get_single_instance(input_dict["model"])
        infra = artifact_utils.get_single_instance(input_dict["infra_blessing"])
        model_blessing = artifact_utils.get_single_instance(input_dict["model_blessing"])
        pushed = artifact_utils.get_single_instance(output_dict["pushed_model"])
        serving_root, name = exec_properties["serving_root"], exec_properties["model_name"]
        model_root = os.path.join(serving_root, name)
        reasons = release.refusal_reasons(release.is_blessed(model_blessing), release.is_blessed(infra),
                                          _optional_uri(input_dict, "model_evaluation"), infra.uri)
        reasons += filter(None, [release.already_pushed_reason(model.uri, model_root, name)])
        if reasons:
            logging.warning("VersionPusher: not pushed:\n  - %s", "\n  - ".join(reasons))
            pushed.set_int_custom_property("pushed", 0)
            artifact_reports.write(pushed.uri, artifact_reports.PUSH_REPORT, {"pushed": False, "reasons": reasons})
            return
        split_uri = artifact_utils.get_split_uri(input_dict["examples"], exec_properties["example_split"])
        texts = split_texts(split_uri, int(exec_properties["warmup_per_language"]))
        metadata = self._metadata(input_dict, exec_properties, model, model_root)
        model_dir = path_utils.serving_model_path(model.uri, path_utils.is_old_model_artifact(model))
        written = push.push_version(model_dir, serving_root, name, push.warmup_requests(texts, name), metadata)
        destination = os.path.join(model_root, str(written["version"]))
        pushed.set_int_custom_property("pushed", 1)
        pushed.set_int_custom_property("pushed_version", written["version"])
        pushed.set_string_custom_property("pushed_destination", destination)
        artifact_reports.write(pushed.uri, artifact_reports.PUSH_REPORT, {
            "pushed": True, "version": written["version"], "destination": destination,
            "metrics": written["metrics"], "sparsity": written["sparsity"],
            "saved_model_bytes": written["saved_model_bytes"]})
        logging.info("VersionPusher: pushed %s version %d to %s", name, written["version"], destination)

    def _metadata(self, input_dict, exec_properties, model, model_root: str) -> Dict[str, Any]:
        run_uri = _optional_uri(input_dict, "model_run")
        baseline_uri = _optional_uri(input_dict, "baseline_model")
        examples = input_dict["examples"][0]
        context = self._context
        run = {"run_id": getattr(context, "pipeline_run_id", None),
               "pipeline_name": context.pipeline_info.id if context and context.pipeline_info else None,
               "data_spans": [int(examples.span)] if examples.has_property("span") else []}
        return release.version_metadata(
            model.uri, json.loads(exec_properties["labels"]), _optional_uri(input_dict, "model_evaluation"),
            compared_with_baseline=bool(baseline_uri),
            training_report=artifact_reports.read(run_uri, artifact_reports.TRAINING_REPORT) if run_uri else {},
            baseline_version=release.version_of(baseline_uri, model_root) if baseline_uri else None, run=run)


def _optional_uri(input_dict, key: str) -> Optional[str]:
    artifacts = input_dict.get(key) or []
    return artifacts[0].uri if artifacts else None
