"""DataGate executor: loads statistics, anomalies and schema; stops the run on any problem found by gate.py."""

from __future__ import annotations

import json
import logging
import os
from typing import Any, Dict, List, Optional

import tensorflow_data_validation as tfdv
from tensorflow_metadata.proto.v0 import anomalies_pb2
from tfx import types
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils
from tfx.utils import io_utils

from components.curated_schema.schema import SCHEMA_FILE
from components.data_gate import gate
from models import artifact_reports
from models.features import LABEL, LANG

STATS_FILE = "FeatureStats.pb"
ANOMALIES_FILE = "SchemaDiff.pb"


def _splits(artifact: types.Artifact) -> List[str]:
    return artifact_utils.decode_split_names(artifact.split_names)


def _load_stats(artifact: types.Artifact, split: str):
    return tfdv.load_stats_binary(os.path.join(artifact_utils.get_split_uri([artifact], split), STATS_FILE))


def _load_anomalies(artifact: types.Artifact, split: str) -> anomalies_pb2.Anomalies:
    path = os.path.join(artifact_utils.get_split_uri([artifact], split), ANOMALIES_FILE)
    return anomalies_pb2.Anomalies.FromString(io_utils.read_bytes_file(path))


def previous_span_statistics(candidates: List[types.Artifact], span: int) -> Optional[types.Artifact]:
    """The newest statistics of an earlier span than `span`, or None (first span, or none recorded)."""
    earlier = [artifact for artifact in candidates if artifact.span < span]
    return max(earlier, key=lambda artifact: (artifact.span, artifact.id), default=None)


class Executor(base_executor.BaseExecutor):
    """Runs the gate; on success copies the schema to `gated_schema` so Transform runs only after it."""

    def Do(self, input_dict: Dict[str, List[types.Artifact]], output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]) -> None:
        statistics = artifact_utils.get_single_instance(input_dict["statistics"])
        anomalies = artifact_utils.get_single_instance(input_dict["anomalies"])
        schema_uri = artifact_utils.get_single_uri(input_dict["schema"])
        schema = io_utils.SchemaReader().read(os.path.join(schema_uri, SCHEMA_FILE))
        stats = {split: _load_stats(statistics, split) for split in _splits(statistics)}
        expected = {LANG: json.loads(exec_properties["languages"]), LABEL: json.loads(exec_properties["labels"])}
        previous = previous_span_statistics(input_dict.get("previous_statistics", []), statistics.span)
        report = gate.gate_report(
            stats, {split: _load_anomalies(anomalies, split) for split in _splits(anomalies)}, expected,
            statistics.span, schema, (previous.span, _load_stats(previous, gate.DRIFT_SPLIT)) if previous else None)
        problems = report["problems"]
        report_uri = artifact_utils.get_single_uri(output_dict["report"])
        artifact_reports.write(report_uri, artifact_reports.DATA_GATE_REPORT, report)
        if problems:
            raise gate.DataGateError("the data gate stopped the run before Transform:\n  - " + "\n  - ".join(problems))
        logging.info("DataGate passed (span %s; drift: %s)", statistics.span, report["drift"])
        gated = artifact_utils.get_single_uri(output_dict["gated_schema"])
        io_utils.write_pbtxt_file(os.path.join(gated, SCHEMA_FILE), schema)
