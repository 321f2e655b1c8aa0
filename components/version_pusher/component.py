"""VersionPusher: pushes a candidate that both gates blessed as the next integer version, atomically.

Inputs:   model (Model), model_blessing (Evaluator's ModelBlessing), infra_blessing (ServingCheck's
          InfraBlessing), examples (Examples: the eval split supplies warmup texts in every language),
          model_evaluation (optional ModelEvaluation: metrics for the metadata and refusal reasons),
          model_run (optional ModelRun: training_report.json for sparsity), baseline_model (optional Model:
          the latest blessed model the Evaluator compared against)
Outputs:  pushed_model (PushedModel: custom properties pushed 0/1, pushed_version, pushed_destination;
          push_report.json with the version or the reasons it was refused, metric by metric and language
          by language)
"""

from __future__ import annotations

import json
from typing import Optional, Sequence

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

from components.version_pusher.executor import Executor


class VersionPusherSpec(types.ComponentSpec):
    """Parameters, inputs and outputs of the VersionPusher."""

    PARAMETERS = {
        "serving_root": ExecutionParameter(type=str),
        "model_name": ExecutionParameter(type=str),
        "labels": ExecutionParameter(type=str),  # JSON list, label_id order
        "example_split": ExecutionParameter(type=str),
        "warmup_per_language": ExecutionParameter(type=int),
    }
    INPUTS = {
        "model": ChannelParameter(type=standard_artifacts.Model),
        "model_blessing": ChannelParameter(type=standard_artifacts.ModelBlessing),
        "infra_blessing": ChannelParameter(type=standard_artifacts.InfraBlessing),
        "examples": ChannelParameter(type=standard_artifacts.Examples),
        "model_evaluation": ChannelParameter(type=standard_artifacts.ModelEvaluation, optional=True),
        "model_run": ChannelParameter(type=standard_artifacts.ModelRun, optional=True),
        "baseline_model": ChannelParameter(type=standard_artifacts.Model, optional=True),
    }
    OUTPUTS = {"pushed_model": ChannelParameter(type=standard_artifacts.PushedModel)}


class VersionPusher(base_component.BaseComponent):
    """Pushes only when both blessings are positive; otherwise records why not and leaves the versions be."""

    SPEC_CLASS = VersionPusherSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)

    def __init__(self, model: types.BaseChannel, model_blessing: types.BaseChannel,
                 infra_blessing: types.BaseChannel, examples: types.BaseChannel, serving_root: str,
                 model_name: str, labels: Sequence[str], warmup_per_language: int,
                 model_evaluation: Optional[types.BaseChannel] = None, model_run: Optional[types.BaseChannel] = None,
                 baseline_model: Optional[types.BaseChannel] = None, example_split: str = "eval"):
        """Builds the component.

        Args:
          model: the candidate (Trainer's `model`).
          model_blessing: the Evaluator's `blessing`.
          infra_blessing: the ServingCheck's `blessing`.
          examples: raw examples whose `example_split` split supplies the warmup texts.
          serving_root: folder holding one folder per served model.
          model_name: the served model's name (the folder under serving_root).
          labels: label names in label_id order (recorded in the metadata).
          model_evaluation: the Evaluator's `evaluation` (metrics and gate failures).
          model_run: the Trainer's `model_run` (training_report.json: sparsity, sizes).
          baseline_model: the Resolver's latest blessed model, recorded as baseline_version.
          example_split: the split the warmup texts come from.
          warmup_per_language: texts per language in the warmup requests.
        """
        super().__init__(spec=VersionPusherSpec(
            model=model, model_blessing=model_blessing, infra_blessing=infra_blessing, examples=examples,
            model_evaluation=model_evaluation, model_run=model_run, baseline_model=baseline_model,
            serving_root=serving_root, model_name=model_name, labels=json.dumps(list(labels)),
            example_split=example_split, warmup_per_language=warmup_per_language,
            pushed_model=types.Channel(type=standard_artifacts.PushedModel)))
