"""ServingCheck executor: artifacts → paths, the check in a fresh process, its verdict → InfraBlessing."""

from __future__ import annotations

import json
import logging
import os
from typing import Any, Dict, List

import tensorflow as tf
from tfx import types
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils
from tfx.utils import path_utils

from components.serving_check import canary, servability
from models import artifact_reports

BLESSED_FILE, NOT_BLESSED_FILE = "INFRA_BLESSED", "INFRA_NOT_BLESSED"


class Executor(base_executor.BaseExecutor):
    """Writes INFRA_BLESSED only when the fresh-process check found no problem (it never raises on a bad
    model: like InfraValidator, the verdict is the artifact, and VersionPusher refuses unblessed models)."""

    def Do(self, input_dict: Dict[str, List[types.Artifact]], output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]) -> None:
        model = artifact_utils.get_single_instance(input_dict["model"])
        model_dir = path_utils.serving_model_path(model.uri, path_utils.is_old_model_artifact(model))
        split_uri = artifact_utils.get_split_uri(input_dict["examples"], exec_properties["example_split"])
        texts = servability.split_texts(split_uri, int(exec_properties["canary_per_language"]))
        labels = json.loads(exec_properties["labels"])
        timeout = float(exec_properties["timeout_seconds"])
        report = canary.check_in_fresh_process(model_dir, labels, texts, timeout)
        blessing = artifact_utils.get_single_instance(output_dict["blessing"])
        write_verdict(blessing, report)


def write_verdict(blessing: types.Artifact, report: Dict[str, Any]) -> None:
    """Writes the report and the INFRA_(NOT_)BLESSED marker, and sets the `blessed` custom property."""
    blessed = bool(report.get("blessed"))
    artifact_reports.write(blessing.uri, artifact_reports.SERVING_CHECK_REPORT, report)
    with tf.io.gfile.GFile(os.path.join(blessing.uri, BLESSED_FILE if blessed else NOT_BLESSED_FILE), "w") as f:
        f.write("")
    blessing.set_int_custom_property(artifact_reports.BLESSED_PROPERTY, int(blessed))
    if blessed:
        logging.info("ServingCheck blessed the candidate (%s)", report.get("server"))
    else:
        logging.warning("ServingCheck refused the candidate:\n  - %s", "\n  - ".join(report.get("problems", [])))
