"""A three-step stand-in pipeline for runner tests: fast, no TensorFlow model, real TFX components and MLMD.

`ReadSpan` publishes an Examples artifact with the span property set (as ExampleGen does), `Hold` can sleep (to
kill a run in the middle), `PublishMarker` writes a file whose presence shows the last step ran. No
`from __future__ import annotations` here: the component decorator reads the annotations as types.
"""


import os
import time

from tfx import v1 as tfx
from tfx.dsl.component.experimental.annotations import OutputArtifact, InputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types import standard_artifacts

from pipeline.configs import RunConfig


@component
def ReadSpan(examples: OutputArtifact[standard_artifacts.Examples], span: Parameter[int] = 1):
    examples.span = span
    with open(os.path.join(examples.uri, "rows.txt"), "w", encoding="utf-8") as handle:
        handle.write(f"span {span}\n")


@component
def Hold(examples: InputArtifact[standard_artifacts.Examples], held: OutputArtifact[standard_artifacts.Examples],
         seconds: Parameter[float] = 0.0, flag_file: Parameter[str] = ""):
    if flag_file:
        with open(flag_file, "w", encoding="utf-8") as handle:
            handle.write(str(os.getpid()))
    time.sleep(seconds)
    held.span = examples.span


@component
def PublishMarker(held: InputArtifact[standard_artifacts.Examples], marker_path: Parameter[str]):
    with open(marker_path, "w", encoding="utf-8") as handle:
        handle.write(f"span {held.span}\n")


def toy_pipeline_factory(span: int = 1, hold_seconds: float = 0.0, flag_file: str = ""):
    """Returns a `create_pipeline`-shaped factory for the toy pipeline."""

    def create(config: RunConfig, metadata_connection_config=None) -> tfx.dsl.Pipeline:
        read = ReadSpan(span=span)
        hold = Hold(examples=read.outputs["examples"], seconds=hold_seconds, flag_file=flag_file)
        marker = PublishMarker(held=hold.outputs["held"],
                               marker_path=os.path.join(config.home, "marker.txt"))
        return tfx.dsl.Pipeline(
            pipeline_name=config.pipeline_name, pipeline_root=config.pipeline_root,
            components=[read, hold, marker], enable_cache=config.enable_cache,
            metadata_connection_config=metadata_connection_config,
            beam_pipeline_args=list(config.beam_args))

    return create
