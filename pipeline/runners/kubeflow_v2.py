"""Kubeflow Pipelines V2 / Vertex AI Pipelines: the pipeline compiled to a PipelineJob JSON, and its schedule.

`KubeflowV2DagRunner` only compiles (no cluster is contacted). Every step runs in `ops.image`, built from
pipeline/deploy/Dockerfile (the locked stack, this package and the KFP pipeline-spec protos), so that our custom
components import. Paths in
the config (home, data root, serving root) must be ones the steps can reach, e.g. gs:// paths on Vertex. Vertex
keeps its own metadata store, so no MLMD connection is compiled in.

The schedule is a Vertex `ScheduleService.CreateSchedule` request body (`schedule.json`): the cron expression, at
most one run at a time (the same guarantee as the local run lock), and the compiled PipelineJob inline.
Submit with `gcloud`/REST (POST .../locations/REGION/schedules) or the SDK:
`aiplatform.PipelineJob(template_path="pipeline.json", pipeline_root=...).create_schedule(cron=..., ...)`.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import re
from typing import Callable, Dict, Optional

from pipeline.configs import RunConfig

PIPELINE_FILE = "pipeline.json"
# KubeflowV2's rule for custom artifact type names (tfx/orchestration/kubeflow/v2/compiler_utils.py).
_SCHEMA_TITLE = re.compile(r"^[a-z][a-z0-9-_]{2,20}[.][A-Z][a-zA-Z0-9-_]{2,49}$")
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
      KubeflowCompileUnsupported: nodes Kubeflow V2 cannot run (custom Resolver strategy, artifact type names).
    """
    runner_module = _runner_module()
    if pipeline_factory is None:
        from pipeline.pipeline import create_pipeline as pipeline_factory
    # Kubeflow V2 compiles only TFX's own Resolver strategies: the span-history resolver of the drift check
    # cannot go there, so the DataGate's report says the drift check is off.
    config = config.replace(gate=dataclasses.replace(config.gate, check_drift=False))
    logical = pipeline_factory(config, None)
    check_kubeflow_compatible(logical)
    runner = runner_module.KubeflowV2DagRunner(
        # Pipeline spec 2.1 (what Vertex runs today): parameters as typed values, and each executor gets its inputs
        # spec, so the span an ExampleGen's driver resolves reaches the executor.
        config=runner_module.KubeflowV2DagRunnerConfig(display_name=config.pipeline_name,
                                                       default_image=config.ops.image, use_pipeline_spec_2_1=True),
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


def check_kubeflow_compatible(logical) -> None:
    """Refuses, naming each node, what Kubeflow V2 cannot compile: a Resolver other than the latest artifact
    (one) or the latest blessed model (it becomes a metadata query), and custom artifact types whose name is
    not a KFP schema title `namespace.Title` (e.g. `nlp2prod.Quarantine`) that imports as the type itself.

    Raises:
      KubeflowCompileUnsupported: every problem found, one per line.
    """
    problems = [_resolver_problem(node) for node in logical.components]
    problems += [_artifact_type_problem(node, key, channel.type) for node in logical.components
                 for key, channel in node.outputs.items()]
    problems = [problem for problem in problems if problem]
    if problems:
        raise KubeflowCompileUnsupported("the pipeline cannot be compiled for Kubeflow V2 / Vertex:\n  - "
                                         + "\n  - ".join(problems))


def _resolver_problem(node) -> str:
    from tfx.dsl.components.common import resolver
    from tfx.dsl.input_resolution.strategies import latest_artifact_strategy, latest_blessed_model_strategy

    if not isinstance(node, resolver.Resolver):
        return ""
    supported = (latest_artifact_strategy.LatestArtifactStrategy,
                 latest_blessed_model_strategy.LatestBlessedModelStrategy)
    strategy = node.exec_properties.get(resolver.RESOLVER_STRATEGY_CLASS)
    wanted = (node.exec_properties.get(resolver.RESOLVER_CONFIG) or {}).get("desired_num_of_artifacts", 1)
    if strategy in supported and wanted <= 1:
        return ""
    return (f"node {node.id}: only a Resolver with LatestArtifactStrategy (one artifact) or "
            f"LatestBlessedModelStrategy compiles, not {getattr(strategy, '__name__', strategy)}"
            + (f" with {wanted} artifacts" if wanted > 1 else ""))


def _artifact_type_problem(node, key: str, artifact_type) -> str:
    from tfx.types import standard_artifacts

    if getattr(standard_artifacts, artifact_type.__name__, None) is artifact_type:
        return ""
    if _SCHEMA_TITLE.fullmatch(artifact_type.TYPE_NAME):
        if _imports_as(artifact_type.TYPE_NAME, artifact_type):
            return ""
        return (f"node {node.id} output {key!r}: artifact type {artifact_type.TYPE_NAME!r} does not import as "
                f"{artifact_type.__module__}.{artifact_type.__name__}: a Kubeflow step rebuilds an artifact from "
                f"its schema title by import path (export the class from the nlp2prod package)")
    return (f"node {node.id} output {key!r}: artifact type name {artifact_type.TYPE_NAME!r} must look like "
            f"'nlp2prod.{artifact_type.TYPE_NAME.replace('Nlp2prod', '')}' (KFP schema title namespace.Title)")


def _imports_as(title: str, artifact_type) -> bool:
    from tfx.utils import import_utils

    try:
        return import_utils.import_class_by_path(title) is artifact_type
    except (ImportError, AttributeError):
        return False


def _runner_module():
    try:
        from tfx.orchestration.kubeflow.v2 import kubeflow_v2_dag_runner
    except ImportError as error:
        raise KubeflowCompileUnavailable(
            f"compiling for Kubeflow V2 / Vertex needs the KFP pipeline-spec protos ({error}); "
            "install kfp-pipeline-spec==0.2.2 (the version that works with protobuf 3.20)") from None
    return kubeflow_v2_dag_runner
