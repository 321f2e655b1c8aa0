"""Kubeflow Pipelines V2 / Vertex AI Pipelines: the pipeline compiled to a PipelineJob JSON, and its schedule.

`KubeflowV2DagRunner` only compiles (no cluster is contacted). Every step runs in `ops.image`, which must be built
FROM gcr.io/tfx-oss-public/tfx:1.16.0 with this package installed, so that our custom components import. Paths in
the config (home, data root, serving root) must be ones the steps can reach, e.g. gs:// paths on Vertex. Vertex
keeps its own metadata store, so no MLMD connection is compiled in.

The schedule is a Vertex `ScheduleService.CreateSchedule` request body (`schedule.json`): the cron expression, at
most one run at a time (the same guarantee as the local run lock), and the compiled PipelineJob inline.
Submit with `gcloud`/REST (POST .../locations/REGION/schedules) or the SDK:
`aiplatform.PipelineJob(template_path="pipeline.json", pipeline_root=...).create_schedule(cron=..., ...)`.
"""

from __future__ import annotations

import copy
import json
import os
from typing import Callable, Dict, Optional

from pipeline.configs import RunConfig

PIPELINE_FILE = "pipeline.json"
SCHEDULE_FILE = "schedule.json"


class KubeflowCompileUnavailable(RuntimeError):
    """The KFP pipeline-spec protos that KubeflowV2DagRunner imports are not installed."""


class KubeflowCompileUnsupported(ValueError):
    """The pipeline uses something Kubeflow V2 cannot express (named by node)."""


def compile_kubeflow_v2(config: RunConfig, out_dir: str,
                        pipeline_factory: Optional[Callable] = None) -> Dict[str, str]:
    """Compiles the pipeline for Kubeflow V2 / Vertex and writes its schedule beside it.

    Args:
      config: the run configuration; `ops.image`, `ops.schedule` and the GCP settings are used.
      out_dir: folder for `pipeline.json` and `schedule.json` (created when missing).
      pipeline_factory: `create_pipeline`-shaped callable; the project's pipeline when None.

    Returns:
      Paths of the written files keyed by "pipeline" and "schedule".

    Raises:
      KubeflowCompileUnavailable: kfp-pipeline-spec is missing from the environment.
      KubeflowCompileUnsupported: a node Kubeflow V2 cannot run, e.g. a Resolver with a custom strategy.
    """
    runner_module = _runner_module()
    if pipeline_factory is None:
        from pipeline.pipeline import create_pipeline as pipeline_factory
    logical = pipeline_factory(config, None)
    check_resolvers(logical)
    runner = runner_module.KubeflowV2DagRunner(
        config=runner_module.KubeflowV2DagRunnerConfig(display_name=config.pipeline_name,
                                                       default_image=config.ops.image),
        output_dir=out_dir, output_filename=PIPELINE_FILE)
    pipeline_job = runner.run(logical, write_out=True)
    schedule_path = os.path.join(out_dir, SCHEDULE_FILE)
    with open(schedule_path, "w", encoding="utf-8") as handle:
        json.dump(schedule_request(config, pipeline_job), handle, indent=2, sort_keys=True)
    return {"pipeline": os.path.join(out_dir, PIPELINE_FILE), "schedule": schedule_path}


def schedule_request(config: RunConfig, pipeline_job: dict) -> dict:
    """The Vertex CreateSchedule request body for a compiled PipelineJob (JSON field names of the REST API)."""
    project = config.ops.gcp_project or "PROJECT_ID"
    parent = f"projects/{project}/locations/{config.ops.gcp_region}"
    job = copy.deepcopy(pipeline_job)
    job.setdefault("runtimeConfig", {})["gcsOutputDirectory"] = config.pipeline_root
    return {
        "displayName": f"{config.pipeline_name}-schedule",
        "cron": config.ops.schedule,
        "maxConcurrentRunCount": "1",
        "allowQueueing": False,
        "createPipelineJobRequest": {"parent": parent, "pipelineJob": job},
    }


def check_resolvers(logical) -> None:
    """Kubeflow V2 compiles a Resolver into a metadata query: only the latest artifact (one) or the latest
    blessed model can be expressed, so any other strategy is refused here, naming the node.

    Raises:
      KubeflowCompileUnsupported: the first Resolver node that Kubeflow V2 cannot compile.
    """
    from tfx.dsl.components.common import resolver
    from tfx.dsl.input_resolution.strategies import latest_artifact_strategy, latest_blessed_model_strategy

    supported = (latest_artifact_strategy.LatestArtifactStrategy,
                 latest_blessed_model_strategy.LatestBlessedModelStrategy)
    for node in logical.components:
        if not isinstance(node, resolver.Resolver):
            continue
        strategy = node.exec_properties.get(resolver.RESOLVER_STRATEGY_CLASS)
        wanted = (node.exec_properties.get(resolver.RESOLVER_CONFIG) or {}).get("desired_num_of_artifacts", 1)
        if strategy not in supported or wanted > 1:
            raise KubeflowCompileUnsupported(
                f"node {node.id}: Kubeflow V2 / Vertex can compile only a Resolver with LatestArtifactStrategy "
                f"(one artifact) or LatestBlessedModelStrategy, not {getattr(strategy, '__name__', strategy)}"
                + (f" with {wanted} artifacts" if wanted > 1 else ""))


def _runner_module():
    try:
        from tfx.orchestration.kubeflow.v2 import kubeflow_v2_dag_runner
    except ImportError as error:
        raise KubeflowCompileUnavailable(
            f"compiling for Kubeflow V2 / Vertex needs the KFP pipeline-spec protos ({error}); "
            "install kfp-pipeline-spec==0.2.2 (the version that works with protobuf 3.20)") from None
    return kubeflow_v2_dag_runner
