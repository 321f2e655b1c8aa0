"""Run tasks of a compiled Kubeflow V2 / Vertex PipelineJob on this machine, the way a KFP launcher would.

No cluster and no Docker: the compiled JSON is parsed strictly into `pipeline_spec_pb2.PipelineJob` (and its
`pipelineSpec` into `PipelineSpec`), so an unknown or misspelled field fails here; then each task, in dependency
order, runs its own compiled command line (the container's `command` + `args`, after its `preCacheCheck`
lifecycle hook when it has one) with `{{$}}` replaced by an ExecutorInput built here: the task's constant
parameters, its input artifacts from the producers' executor outputs, and output artifacts under a local root.
`python` on those command lines is this environment's (its bin folder goes first on PATH).

What it cannot run: Importer and Resolver tasks (Vertex executes those itself, against its metadata store).
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Dict, Iterable, List, Mapping

from google.protobuf import json_format, struct_pb2
from kfp.pipeline_spec import pipeline_spec_pb2

# What a KFP launcher substitutes in a command line with the whole ExecutorInput as JSON.
EXECUTOR_INPUT_PLACEHOLDER = "{{$}}"


class KubeflowTaskError(RuntimeError):
    """A task that cannot be run from the spec, or whose command line failed (with its log)."""


def load_pipeline_job(path: str) -> pipeline_spec_pb2.PipelineJob:
    """Parses a compiled PipelineJob JSON strictly (unknown fields are errors), its pipelineSpec included.

    Raises:
      google.protobuf.json_format.ParseError: a field the protos do not know, or a value of the wrong type.
    """
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    job = json_format.Parse(text, pipeline_spec_pb2.PipelineJob(), ignore_unknown_fields=False)
    pipeline_spec(job)
    return job


def pipeline_spec(job: pipeline_spec_pb2.PipelineJob) -> pipeline_spec_pb2.PipelineSpec:
    """The job's `pipelineSpec` (a Struct in PipelineJob) parsed strictly into a PipelineSpec."""
    return json_format.ParseDict(json_format.MessageToDict(job.pipeline_spec), pipeline_spec_pb2.PipelineSpec(),
                                 ignore_unknown_fields=False)


def dependency_order(spec: pipeline_spec_pb2.PipelineSpec, tasks: Iterable[str]) -> List[str]:
    """The given tasks in an order where each comes after the tasks it depends on.

    Raises:
      KubeflowTaskError: a task not in the spec, or one that depends on a task outside the given ones.
    """
    wanted = set(tasks)
    graph = spec.root.dag.tasks
    unknown = sorted(wanted - set(graph))
    if unknown:
        raise KubeflowTaskError(f"tasks not in the compiled pipeline: {', '.join(unknown)}")
    ordered: List[str] = []
    while len(ordered) < len(wanted):
        ready = sorted(name for name in wanted - set(ordered)
                       if set(graph[name].dependent_tasks) <= set(ordered))
        if not ready:
            missing = {name: sorted(set(graph[name].dependent_tasks) - wanted) for name in wanted - set(ordered)}
            raise KubeflowTaskError(f"tasks depend on tasks that are not run: {missing}")
        ordered.append(ready[0])
    return ordered


def run_tasks(job: pipeline_spec_pb2.PipelineJob, tasks: Iterable[str], root: str,
              timeout_s: float = 900.0) -> Dict[str, pipeline_spec_pb2.ExecutorOutput]:
    """Runs the tasks in dependency order under `root`; returns each task's ExecutorOutput.

    Raises:
      KubeflowTaskError: as `dependency_order`, or a command line that failed (its log path in the message).
    """
    spec = pipeline_spec(job)
    outputs: Dict[str, pipeline_spec_pb2.ExecutorOutput] = {}
    for name in dependency_order(spec, tasks):
        outputs[name] = run_task(spec, name, outputs, root, timeout_s)
    return outputs


def run_task(spec: pipeline_spec_pb2.PipelineSpec, name: str,
             upstream: Mapping[str, pipeline_spec_pb2.ExecutorOutput], root: str,
             timeout_s: float = 900.0) -> pipeline_spec_pb2.ExecutorOutput:
    """Runs one task's compiled command lines with a hand-built ExecutorInput; returns its ExecutorOutput."""
    task = spec.root.dag.tasks[name]
    component = spec.components[task.component_ref.name]
    executor = json_format.MessageToDict(spec.deployment_spec)["executors"][component.executor_label]
    if "container" not in executor:
        raise KubeflowTaskError(f"task {name}: only container executors run here, not {sorted(executor)}")
    container = executor["container"]
    task_root = os.path.join(root, name)
    executor_input = build_executor_input(spec, name, upstream, task_root)
    # What TFX's own launchers do before an executor runs (on GCS a prefix needs no folder; on a disk it does).
    for artifacts in executor_input.outputs.artifacts.values():
        for artifact in artifacts.artifacts:
            os.makedirs(artifact.uri, exist_ok=True)
    serialized = json_format.MessageToJson(executor_input)
    hook = container.get("lifecycle", {}).get("preCacheCheck")
    if hook:
        _run_command(name, "preCacheCheck", hook["command"] + hook.get("args", []), serialized, task_root, timeout_s)
        _merge_driver_output(executor_input, _read_output(executor_input.outputs.output_file))
        serialized = json_format.MessageToJson(executor_input)
    _run_command(name, "executor", container["command"] + container.get("args", []), serialized, task_root,
                 timeout_s)
    return _read_output(executor_input.outputs.output_file)


def _read_output(path: str) -> pipeline_spec_pb2.ExecutorOutput:
    with open(path, encoding="utf-8") as handle:
        return json_format.Parse(handle.read(), pipeline_spec_pb2.ExecutorOutput(), ignore_unknown_fields=False)


def _merge_driver_output(executor_input: pipeline_spec_pb2.ExecutorInput,
                         driver_output: pipeline_spec_pb2.ExecutorOutput) -> None:
    """What the launcher does between a preCacheCheck driver and the executor: the parameters the driver
    resolved (an ExampleGen's span, version, fingerprint) and its output artifacts' metadata go into the input."""
    for key, value in driver_output.parameter_values.items():
        executor_input.inputs.parameter_values[key].CopyFrom(value)
    for key, artifacts in driver_output.artifacts.items():
        for target, source in zip(executor_input.outputs.artifacts[key].artifacts, artifacts.artifacts):
            target.metadata.MergeFrom(source.metadata)


def build_executor_input(spec: pipeline_spec_pb2.PipelineSpec, name: str,
                         upstream: Mapping[str, pipeline_spec_pb2.ExecutorOutput],
                         task_root: str) -> pipeline_spec_pb2.ExecutorInput:
    """The ExecutorInput a launcher would hand the task: constant parameters (both the deprecated `parameters`
    and `parameter_values`), input artifacts as their producers wrote them (typed by the producer's output
    definition), and one output artifact per output under `task_root`.

    Raises:
      KubeflowTaskError: a runtime parameter, or an input whose producer has not run.
    """
    task = spec.root.dag.tasks[name]
    executor_input = pipeline_spec_pb2.ExecutorInput()
    for key, value in task.inputs.parameters.items():
        runtime = value.runtime_value
        if runtime.HasField("constant"):  # pipeline spec 2.1
            executor_input.inputs.parameter_values[key].CopyFrom(runtime.constant)
        elif runtime.HasField("constant_value"):  # 2.0: the deprecated typed Value, given both ways
            executor_input.inputs.parameters[key].CopyFrom(runtime.constant_value)
            executor_input.inputs.parameter_values[key].CopyFrom(_as_struct_value(runtime.constant_value))
        else:
            raise KubeflowTaskError(f"task {name}: parameter {key} is not a compiled constant")
    for key, channel in task.inputs.artifacts.items():
        producer = channel.task_output_artifact.producer_task
        if producer not in upstream:
            raise KubeflowTaskError(f"task {name}: input {key} comes from {producer!r}, which has not run")
        output_key = channel.task_output_artifact.output_artifact_key
        artifact_type = _output_type(spec, producer, output_key)
        for artifact in upstream[producer].artifacts[output_key].artifacts:
            added = executor_input.inputs.artifacts[key].artifacts.add()
            added.CopyFrom(artifact)
            added.type.CopyFrom(artifact_type)
    component = spec.components[task.component_ref.name]
    for key, definition in component.output_definitions.artifacts.items():
        artifact = executor_input.outputs.artifacts[key].artifacts.add()
        artifact.name = f"{name}.{key}"
        artifact.uri = os.path.join(task_root, key)
        artifact.type.CopyFrom(definition.artifact_type)
    executor_input.outputs.output_file = os.path.join(task_root, "executor_output.json")
    return executor_input


def _output_type(spec, task: str, key: str) -> pipeline_spec_pb2.ArtifactTypeSchema:
    component = spec.components[spec.root.dag.tasks[task].component_ref.name]
    return component.output_definitions.artifacts[key].artifact_type


def _as_struct_value(constant: pipeline_spec_pb2.Value) -> struct_pb2.Value:
    kind = constant.WhichOneof("value")
    if kind == "string_value":
        return struct_pb2.Value(string_value=constant.string_value)
    return struct_pb2.Value(number_value=float(getattr(constant, kind)))


def _run_command(name: str, step: str, argv: List[str], serialized: str, task_root: str, timeout_s: float) -> None:
    os.makedirs(task_root, exist_ok=True)
    argv = [serialized if arg == EXECUTOR_INPUT_PLACEHOLDER else arg for arg in argv]
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    log_path = os.path.join(task_root, f"{step}.log")
    with open(log_path, "w", encoding="utf-8") as log:
        result = subprocess.run(argv, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=timeout_s)
    if result.returncode != 0:
        with open(log_path, encoding="utf-8") as handle:
            tail = handle.read()[-3000:]
        raise KubeflowTaskError(f"task {name} {step} exited with {result.returncode} (log: {log_path}):\n{tail}")
