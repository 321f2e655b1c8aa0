"""Beam pipeline arguments per execution target, from `OpsConfig` (set with `--set ops.FIELD=VALUE`).

Targets (ExampleGen, StatisticsGen, Transform and Evaluator run on Beam; the rest is plain Python):
  direct        one process, in memory: the default for small spans on one machine.
  multiprocess  DirectRunner with one worker process per core (`ops.beam_workers` to choose).
  portable      PortableRunner against a Beam job server (`ops.beam_job_endpoint`) whose SDK workers come from an
                EXTERNAL worker pool (`ops.beam_worker_pool`), `ops.beam_workers` of them per job (default: one per
                core). `nlp2prod run --beam portable` with neither set starts Beam's Python job server and a
                worker pool here, each its own process (pipeline.runners.portable): the Job API / Fn API path
                that Flink, Spark and Dataflow take, with separate worker processes, on one machine.
  dataflow      Google Cloud Dataflow. Needs `ops.gcp_project`, `ops.gcp_region` and a `gs://` temp location in
                `ops.beam_temp_location`; workers run the image `ops.image` (pipeline/deploy/Dockerfile: the
                Beam 2.59 Python 3.10 SDK image with this package installed), `ops.beam_workers` caps autoscaling.
  flink         Beam's portable FlinkRunner against a running Flink cluster at `ops.flink_master`; SDK workers
                run as Docker containers of `ops.image`; `ops.beam_workers` sets the parallelism.
  spark         PortableRunner against a Beam Spark job server at `ops.spark_job_endpoint` (start one with the
                apache/beam_spark3_job_server:2.59.0 image pointed at your Spark master); SDK workers as above.

Flink and Spark need their job-server jars (Maven) or containers, which this machine cannot fetch: locally the
portable target is what runs the same way they do, and the arguments of the others are emitted for the cluster.
The same settings map onto each (README, "Beam runners"): the worker count is `--direct_num_workers` on the
portable target, `--parallelism` on Flink, `--max_num_workers` on Dataflow; the worker environment is EXTERNAL
(a running pool) locally, DOCKER with `ops.image` on Flink and Spark, `--sdk_container_image` on Dataflow.
"""

from __future__ import annotations

import os
from typing import Tuple

from pipeline.configs import OpsConfig, RunConfig, multiprocess_beam_args

BEAM_TARGETS = ("direct", "multiprocess", "portable", "dataflow", "flink", "spark")
# How long one Beam job (one component's pipeline) may run on the portable target.
PORTABLE_JOB_TIMEOUT_S = 24 * 3600


class BeamTargetError(ValueError):
    """An unknown Beam target, or a target whose required settings are missing."""


def beam_args_for(ops: OpsConfig, target: str = "") -> Tuple[str, ...]:
    """Beam pipeline arguments for a target (default: `ops.beam_target`).

    Raises:
      BeamTargetError: the target is unknown or lacks a required setting (named with its `--set` flag).
    """
    target = target or ops.beam_target
    builders = {"direct": _direct, "multiprocess": _multiprocess, "portable": _portable, "dataflow": _dataflow,
                "flink": _flink, "spark": _spark}
    if target not in builders:
        raise BeamTargetError(f"unknown Beam target {target!r}; choose one of {', '.join(BEAM_TARGETS)}")
    return builders[target](ops)


def with_beam_target(config: RunConfig) -> RunConfig:
    """The config with `beam_args` for `ops.beam_target`.

    "direct" keeps `beam_args` as they are (the single-process default, or what `nlp2prod run --multiprocess`
    set); any other target replaces them, so `--set ops.beam_target=flink` is all a deployment needs to say.

    Raises:
      BeamTargetError: as `beam_args_for`.
    """
    if config.ops.beam_target == "direct":
        return config
    return config.replace(beam_args=beam_args_for(config.ops))


def _direct(ops: OpsConfig) -> Tuple[str, ...]:
    return ("--direct_running_mode=in_memory", "--direct_num_workers=1")


def _multiprocess(ops: OpsConfig) -> Tuple[str, ...]:
    return multiprocess_beam_args(ops.beam_workers or None)


def _portable(ops: OpsConfig) -> Tuple[str, ...]:
    _require(ops, "portable", "beam_job_endpoint", "beam_worker_pool")
    return (
        "--runner=PortableRunner",
        f"--job_endpoint={ops.beam_job_endpoint}",
        # PortableRunner puts the job server timeout on the job's state stream too when the server's preparation
        # id is the job id (Beam's Python job server): any job running longer fails with DEADLINE_EXCEEDED.
        f"--job_server_timeout={PORTABLE_JOB_TIMEOUT_S}",
        "--environment_type=EXTERNAL",
        f"--environment_config={ops.beam_worker_pool}",
        f"--direct_num_workers={ops.beam_workers or os.cpu_count() or 1}",
    )


def _dataflow(ops: OpsConfig) -> Tuple[str, ...]:
    _require(ops, "dataflow", "gcp_project", "gcp_region", "beam_temp_location")
    if not ops.beam_temp_location.startswith("gs://"):
        raise BeamTargetError(f"Beam target dataflow: ops.beam_temp_location must be a gs:// path, "
                              f"got {ops.beam_temp_location!r}")
    args = (
        "--runner=DataflowRunner",
        f"--project={ops.gcp_project}",
        f"--region={ops.gcp_region}",
        f"--temp_location={ops.beam_temp_location}",
        f"--sdk_container_image={ops.image}",
        "--experiments=use_runner_v2",
    )
    return args + ((f"--max_num_workers={ops.beam_workers}",) if ops.beam_workers else ())


def _flink(ops: OpsConfig) -> Tuple[str, ...]:
    _require(ops, "flink", "flink_master", "image")
    args = (
        "--runner=FlinkRunner",
        f"--flink_master={ops.flink_master}",
        "--environment_type=DOCKER",
        f"--environment_config={ops.image}",
    )
    return args + ((f"--parallelism={ops.beam_workers}",) if ops.beam_workers else ())


def _spark(ops: OpsConfig) -> Tuple[str, ...]:
    _require(ops, "spark", "spark_job_endpoint", "image")
    return (
        "--runner=PortableRunner",
        f"--job_endpoint={ops.spark_job_endpoint}",
        "--environment_type=DOCKER",
        f"--environment_config={ops.image}",
    )


def _require(ops: OpsConfig, target: str, *fields: str) -> None:
    missing = [name for name in fields if not getattr(ops, name)]
    if missing:
        flags = " ".join(f"--set ops.{name}=..." for name in missing)
        raise BeamTargetError(f"Beam target {target} needs {', '.join('ops.' + m for m in missing)} ({flags})")
