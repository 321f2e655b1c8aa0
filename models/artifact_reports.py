"""The JSON reports that components write into their output artifacts: one name per report, one writer, one reader.

    report                 written by (into)                  read by
    training_report.json   Trainer (model_run)                VersionPusher, run summary
    summary.json           TextCleaner (quarantine)           run summary
    report.json            DataGate (gate report)             run summary
    tokenization.json      TokenizationGate (gate report)     run summary
    serving_check.json     ServingCheck (InfraBlessing)       VersionPusher
    push_report.json       VersionPusher (PushedModel)        local runner, run summary

`blessed` is the integer custom property of ModelBlessing / InfraBlessing artifacts (TFX's own convention).
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict

import tensorflow as tf

TRAINING_REPORT = "training_report.json"
CLEANING_SUMMARY = "summary.json"
DATA_GATE_REPORT = "report.json"
TOKENIZATION_REPORT = "tokenization.json"
SERVING_CHECK_REPORT = "serving_check.json"
PUSH_REPORT = "push_report.json"
BLESSED_PROPERTY = "blessed"


def write(uri: str, name: str, report: Dict[str, Any]) -> str:
    """Writes `report` as `<uri>/<name>` (UTF-8 JSON, non-ASCII kept) and returns the path."""
    tf.io.gfile.makedirs(uri)
    path = os.path.join(uri, name)
    with tf.io.gfile.GFile(path, "w") as handle:
        json.dump(report, handle, indent=1, ensure_ascii=False)
    return path


def read(uri: str, name: str) -> Dict[str, Any]:
    """The report `<uri>/<name>`, or {} when that artifact has none.

    Raises:
      ValueError: the file exists but is not valid JSON (named by path).
    """
    path = os.path.join(uri, name)
    if not tf.io.gfile.exists(path):
        return {}
    with tf.io.gfile.GFile(path) as handle:
        try:
            return json.load(handle)
        except ValueError as error:
            raise ValueError(f"{path}: not valid JSON ({error})") from None
