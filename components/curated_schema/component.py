"""CuratedSchemaGen: the schema of cleaned examples, from the configuration rather than inferred.

Outputs:  schema (Schema, schema.pbtxt) — label and language domains, text presence, drift comparators.
"""

from __future__ import annotations

import json
from typing import Sequence

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

from components.curated_schema.executor import Executor


class CuratedSchemaGenSpec(types.ComponentSpec):
    """Parameters and output of CuratedSchemaGen."""

    PARAMETERS = {
        "labels": ExecutionParameter(type=str),  # JSON list
        "languages": ExecutionParameter(type=str),  # JSON list
        "max_label_drift": ExecutionParameter(type=float),
        "max_language_drift": ExecutionParameter(type=float),
    }
    INPUTS = {}
    OUTPUTS = {"schema": ChannelParameter(type=standard_artifacts.Schema)}


class CuratedSchemaGen(base_component.BaseComponent):
    """Writes the curated schema (see schema.py) as a Schema artifact."""

    SPEC_CLASS = CuratedSchemaGenSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)

    def __init__(self, labels: Sequence[str], languages: Sequence[str], max_label_drift: float,
                 max_language_drift: float):
        """Builds the component.

        Args:
          labels: the configured labels (config.data.labels).
          languages: the configured language codes (config.data.languages).
          max_label_drift: config.gate.max_label_drift.
          max_language_drift: config.gate.max_language_drift.
        """
        super().__init__(spec=CuratedSchemaGenSpec(
            labels=json.dumps(list(labels)), languages=json.dumps(list(languages)),
            max_label_drift=max_label_drift, max_language_drift=max_language_drift,
            schema=types.Channel(type=standard_artifacts.Schema)))
