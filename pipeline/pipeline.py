"""The nlp2prod TFX pipeline, wired in one pure factory.

`create_pipeline` decides nothing about environments: paths, Beam arguments and the metadata store come in
through the `RunConfig` and the arguments; runners (local, Airflow, Kubeflow V2) call it.
"""

from __future__ import annotations

from typing import List, Optional

from tfx import v1 as tfx

from pipeline.configs import RunConfig


def create_pipeline(
    config: RunConfig,
    metadata_connection_config: Optional[object] = None,
) -> tfx.dsl.Pipeline:
    """Builds the pipeline: ingest → clean → validate/gate → Transform → Trainer → Evaluator → check → push.

    Args:
      config: the run configuration (data root, thresholds, hyperparameters, serving root).
      metadata_connection_config: an MLMD connection; None leaves it to the runner (Kubeflow, Vertex).

    Returns:
      A `tfx.dsl.Pipeline` ready for any TFX runner.
    """
    components: List[object] = []
    components += _data_half(config)
    components += _model_half(config, components)
    return tfx.dsl.Pipeline(
        pipeline_name=config.pipeline_name,
        pipeline_root=config.pipeline_root,
        components=components,
        enable_cache=config.enable_cache,
        metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=list(config.beam_args),
    )


# --- data half: ExampleGen → TextCleaner → StatisticsGen/SchemaGen → ExampleValidator → DataGate → Transform ---
def _data_half(config: RunConfig) -> List[object]:
    return []


# --- model half: Trainer → Evaluator → ServingCheck → VersionPusher -------------------------------------------
def _model_half(config: RunConfig, upstream: List[object]) -> List[object]:
    return []
