"""A stand-in pipeline for runner tests: fast, no TensorFlow model, but real TFX components, runner and MLMD.

`ReadSpan` publishes an Examples artifact with the `span` property (as ExampleGen does) for the newest
`span-N/` folder of the data root at build time (the factory is called per run, as `create_pipeline` is),
`Hold` can sleep, fail or refuse like a gate (to kill, break or stop a run in the middle), and `ToyPusher` pushes a numbered version
directory with the `assets.extra/nlp2prod_metadata.json` of the contract, run id included, by stage-and-rename.
No `from __future__ import annotations` here: the component decorator reads the annotations as types.
"""

import datetime
import json
import os
import re
import time

from tfx import v1 as tfx
from tfx.dsl.component.experimental.annotations import InputArtifact, OutputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.dsl.components.base import base_component, base_executor, executor_spec
from tfx.types import channel, standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

from models.gates import GateRefusal
from pipeline.configs import RunConfig


@component
def ReadSpan(examples: OutputArtifact[standard_artifacts.Examples], data_root: Parameter[str], span: Parameter[int]):
    examples.span = span
    with open(os.path.join(examples.uri, "rows.txt"), "w", encoding="utf-8") as handle:
        handle.write(f"{data_root} span {span}\n")


class DataGateError(GateRefusal):
    """A gate's refusal like the real data gate's: the runner records it as refused, not failed."""


@component
def Hold(examples: InputArtifact[standard_artifacts.Examples], held: OutputArtifact[standard_artifacts.Examples],
         seconds: Parameter[float] = 0.0, flag_file: Parameter[str] = "", fail_with: Parameter[str] = "",
         refuse_with: Parameter[str] = ""):
    if flag_file:
        with open(flag_file, "w", encoding="utf-8") as handle:
            handle.write(str(os.getpid()))
    time.sleep(seconds)
    if fail_with:
        raise ValueError(fail_with)
    if refuse_with:
        raise DataGateError(refuse_with)
    held.span = examples.span


class ToyPusherSpec(ComponentSpec):
    PARAMETERS = {"serving_root": ExecutionParameter(type=str), "model_name": ExecutionParameter(type=str),
                  "refusal": ExecutionParameter(type=str, optional=True)}
    INPUTS = {"held": ChannelParameter(type=standard_artifacts.Examples)}
    OUTPUTS = {"pushed_model": ChannelParameter(type=standard_artifacts.PushedModel)}


class ToyPusherExecutor(base_executor.BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        pushed = output_dict["pushed_model"][0]
        if exec_properties.get("refusal"):
            # What the real VersionPusher does on a refusal: pushed = 0 and the reasons in push_report.json.
            pushed.set_int_custom_property("pushed", 0)
            os.makedirs(pushed.uri, exist_ok=True)
            with open(os.path.join(pushed.uri, "push_report.json"), "w", encoding="utf-8") as f:
                json.dump({"pushed": False, "reasons": [exec_properties["refusal"]]}, f)
            return
        model_dir = os.path.join(exec_properties["serving_root"], exec_properties["model_name"])
        os.makedirs(model_dir, exist_ok=True)
        version = max([int(n) for n in os.listdir(model_dir) if n.isdigit()] + [0]) + 1
        stage = os.path.join(model_dir, f".stage-{version}")
        os.makedirs(os.path.join(stage, "assets.extra"))
        metadata = {"model_name": exec_properties["model_name"], "version": version,
                    "run_id": self._context.pipeline_run_id, "pipeline_name": "nlp2prod",
                    "data_spans": [input_dict["held"][0].span],
                    "pushed_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
                    "labels": ["a", "b"], "metrics": {"overall": {"accuracy": 0.9},
                                                      "per_language": {"en": {"accuracy": 0.9}}},
                    "baseline_version": version - 1 or None}
        with open(os.path.join(stage, "assets.extra", "nlp2prod_metadata.json"), "w", encoding="utf-8") as f:
            json.dump(metadata, f)
        os.rename(stage, os.path.join(model_dir, str(version)))
        pushed.set_int_custom_property("pushed", 1)
        pushed.set_int_custom_property("pushed_version", version)


class ToyPusher(base_component.BaseComponent):
    SPEC_CLASS = ToyPusherSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(ToyPusherExecutor)

    def __init__(self, held, serving_root: str, model_name: str, refusal: str = ""):
        super().__init__(spec=ToyPusherSpec(held=held, serving_root=serving_root, model_name=model_name,
                                            refusal=refusal or None,
                                            pushed_model=channel.Channel(type=standard_artifacts.PushedModel)))


def newest_span(data_root: str) -> int:
    """The highest N of the `span-N/` folders under the data root (0 when there are none)."""
    names = os.listdir(data_root) if os.path.isdir(data_root) else []
    return max([int(m.group(1)) for n in names if (m := re.fullmatch(r"span-(\d+)", n))] + [0])


def toy_pipeline_factory(hold_seconds: float = 0.0, flag_file: str = "", fail_with: str = "", refuse_with: str = "",
                         push_refusal: str = ""):
    """Returns a `create_pipeline`-shaped factory for the toy pipeline."""

    def create(config: RunConfig, metadata_connection_config=None) -> tfx.dsl.Pipeline:
        read = ReadSpan(data_root=config.data.data_root, span=newest_span(config.data.data_root))
        hold = Hold(examples=read.outputs["examples"], seconds=float(hold_seconds), flag_file=flag_file,
                    fail_with=fail_with, refuse_with=refuse_with)
        push = ToyPusher(held=hold.outputs["held"], serving_root=config.push.serving_root,
                         model_name=config.push.model_name, refusal=push_refusal)
        return tfx.dsl.Pipeline(
            pipeline_name=config.pipeline_name, pipeline_root=config.pipeline_root,
            components=[read, hold, push], enable_cache=config.enable_cache,
            metadata_connection_config=metadata_connection_config,
            beam_pipeline_args=list(config.beam_args))

    return create
