"""DataGate: stops the run before Transform on schema anomalies, missing split coverage or data drift.

Inputs:   statistics (ExampleStatistics of the cleaned examples), anomalies (ExampleAnomalies from
          ExampleValidator), schema (the curated Schema), previous_statistics (optional ExampleStatistics
          candidates, e.g. from a Resolver; the newest of a span before the current one is compared)
Outputs:  gated_schema (Schema, a copy written only when the gate passes: Transform consumes it, so it
          cannot run on data the gate refused), report (DataGateReport: report.json)
"""

from __future__ import annotations

import json
from typing import Optional, Sequence

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

from components.data_gate.executor import Executor


class DataGateReport(types.Artifact):
    """report.json: span, previous span, value counts per split, drift measurements, problems."""

    TYPE_NAME = "nlp2prod.DataGateReport"


class DataGateSpec(types.ComponentSpec):
    """Parameters, inputs and outputs of the DataGate."""

    PARAMETERS = {
        "languages": ExecutionParameter(type=str),  # JSON list: each must appear in every split
        "labels": ExecutionParameter(type=str),  # JSON list: each must appear in every split
        # JSON list: held out of train/eval, each must appear in the holdout split
        "holdout_languages": ExecutionParameter(type=str, optional=True),
    }
    INPUTS = {
        "statistics": ChannelParameter(type=standard_artifacts.ExampleStatistics),
        "anomalies": ChannelParameter(type=standard_artifacts.ExampleAnomalies),
        "schema": ChannelParameter(type=standard_artifacts.Schema),
        "previous_statistics": ChannelParameter(type=standard_artifacts.ExampleStatistics, optional=True),
    }
    OUTPUTS = {
        "gated_schema": ChannelParameter(type=standard_artifacts.Schema),
        "report": ChannelParameter(type=DataGateReport),
    }


class DataGate(base_component.BaseComponent):
    """Raises DataGateError (the run stops) when the data is not fit to train on; see gate.py."""

    SPEC_CLASS = DataGateSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)

    def __init__(self, statistics: types.BaseChannel, anomalies: types.BaseChannel, schema: types.BaseChannel,
                 languages: Sequence[str], labels: Sequence[str],
                 previous_statistics: Optional[types.BaseChannel] = None, holdout_languages: Sequence[str] = ()):
        """Builds the component.

        Args:
          statistics: StatisticsGen's `statistics` of the cleaned examples.
          anomalies: ExampleValidator's `anomalies`.
          schema: the curated schema (with drift comparators).
          languages: configured languages; each must have rows in every split (held-out ones: in holdout).
          labels: configured labels; each must have rows in train and eval.
          previous_statistics: earlier ExampleStatistics (a Resolver output); None skips drift.
          holdout_languages: languages whose rows are all in the `holdout` split.
        """
        super().__init__(spec=DataGateSpec(
            statistics=statistics, anomalies=anomalies, schema=schema, previous_statistics=previous_statistics,
            languages=json.dumps(list(languages)), labels=json.dumps(list(labels)),
            holdout_languages=json.dumps(list(holdout_languages)),
            gated_schema=types.Channel(type=standard_artifacts.Schema),
            report=types.Channel(type=DataGateReport)))
