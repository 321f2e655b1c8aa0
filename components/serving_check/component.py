"""ServingCheck: TFX InfraValidator's job without Docker: can the production server run this candidate?

Inputs:   model (Trainer's Model), examples (Examples whose eval split supplies canary texts in every language)
Outputs:  blessing (InfraBlessing: INFRA_BLESSED or INFRA_NOT_BLESSED marker, custom property `blessed` 1/0,
          serving_check.json with the problems found, per-language canary labels and round-trip times)
The check runs in a fresh process: the graph's ops against tensorflow/serving:2.16.1 (core TF + TF Text
2.12.1 ops_lib), the contract signatures, then canary requests over gRPC to the candidate loaded in a server.
"""

from __future__ import annotations

import json
from typing import Sequence

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

from components.serving_check.executor import Executor

MODEL_KEY = "model"
EXAMPLES_KEY = "examples"
BLESSING_KEY = "blessing"


class ServingCheckSpec(types.ComponentSpec):
    """Parameters, inputs and outputs of the ServingCheck."""

    PARAMETERS = {
        "labels": ExecutionParameter(type=str),  # JSON list, label_id order
        "example_split": ExecutionParameter(type=str),
        "canary_per_language": ExecutionParameter(type=int),
        "timeout_seconds": ExecutionParameter(type=int),
    }
    INPUTS = {
        MODEL_KEY: ChannelParameter(type=standard_artifacts.Model),
        EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples),
    }
    OUTPUTS = {BLESSING_KEY: ChannelParameter(type=standard_artifacts.InfraBlessing)}


class ServingCheck(base_component.BaseComponent):
    """Blesses a candidate the pinned production server can load and that answers every language well."""

    SPEC_CLASS = ServingCheckSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)

    def __init__(self, model: types.BaseChannel, examples: types.BaseChannel, labels: Sequence[str],
                 canary_per_language: int, timeout_seconds: int, example_split: str = "eval"):
        """Builds the component.

        Args:
          model: the candidate (Trainer's `model`).
          examples: raw examples (text, lang) whose `example_split` split provides the canary texts.
          labels: the label names the model must answer with, in label_id order.
          example_split: which split to take canary texts from.
          canary_per_language: texts per language sent as one Predict and one Classify request.
          timeout_seconds: limit for the whole check (load included).
        """
        super().__init__(spec=ServingCheckSpec(
            model=model, examples=examples, labels=json.dumps(list(labels)), example_split=example_split,
            canary_per_language=canary_per_language, timeout_seconds=timeout_seconds,
            blessing=types.Channel(type=standard_artifacts.InfraBlessing)))
