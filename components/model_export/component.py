"""ModelExport: after both gates bless a candidate, its ONNX fp32/int8 and TFLite fp16/int8 exports.

Inputs:   model (Trainer's Model), model_blessing (Evaluator's ModelBlessing), infra_blessing (ServingCheck's
          InfraBlessing), examples (Examples: the eval split the per-language accuracy gate runs on)
Outputs:  exports (ModelExports: the export folder of `edge.manifest` — manifest.json, tokenizer.model and the
          artefacts that passed; custom properties `shipped` and `refused` (counts))
A candidate either gate refused is not exported (the pusher will not push it); an artefact that fails to
convert or fails its gate is left out with the reason in the manifest, and never fails the run.
"""

from __future__ import annotations

import json
from typing import Sequence

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

from components.model_export.executor import Executor

EXPORTS_KEY = "exports"


class ModelExports(types.Artifact):
    """A folder of edge exports (manifest.json + artefacts) of one Model."""

    TYPE_NAME = "nlp2prod.ModelExports"


class ModelExportSpec(types.ComponentSpec):
    """Parameters, inputs and outputs of the ModelExport component."""

    PARAMETERS = {
        "labels": ExecutionParameter(type=str),  # JSON list, label_id order
        "settings": ExecutionParameter(type=str),  # JSON of models.export.settings.ExportSettings
        "example_split": ExecutionParameter(type=str),
    }
    INPUTS = {
        "model": ChannelParameter(type=standard_artifacts.Model),
        "model_blessing": ChannelParameter(type=standard_artifacts.ModelBlessing),
        "infra_blessing": ChannelParameter(type=standard_artifacts.InfraBlessing),
        "examples": ChannelParameter(type=standard_artifacts.Examples),
    }
    OUTPUTS = {EXPORTS_KEY: ChannelParameter(type=ModelExports)}


class ModelExport(base_component.BaseComponent):
    """Exports a doubly blessed model to ONNX and TFLite, shipping only the artefacts that pass their gate."""

    SPEC_CLASS = ModelExportSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)

    def __init__(self, model: types.BaseChannel, model_blessing: types.BaseChannel,
                 infra_blessing: types.BaseChannel, examples: types.BaseChannel, labels: Sequence[str],
                 settings: dict, example_split: str = "eval"):
        """Builds the component.

        Args:
          model: the candidate (Trainer's `model`).
          model_blessing: the Evaluator's blessing of it.
          infra_blessing: the ServingCheck's blessing of it.
          examples: raw examples (text, label, lang); the gate runs on `example_split`, the holdout split (when
            present) and the out-of-corpus sentences.
          labels: label names in label_id order.
          settings: the fields of `models.export.settings.ExportSettings` (RunConfig.export).
          example_split: the eval split of the gate.
        """
        super().__init__(spec=ModelExportSpec(
            model=model, model_blessing=model_blessing, infra_blessing=infra_blessing, examples=examples,
            labels=json.dumps(list(labels)), settings=json.dumps(settings, sort_keys=True),
            example_split=example_split, exports=types.Channel(type=ModelExports)))
