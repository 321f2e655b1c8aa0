"""Finding a version's training data: version metadata (run id) → ML Metadata → that run's StatisticsGen.

The pusher writes the run id into the version's `assets.extra/nlp2prod_metadata.json` (serving/layout.py reads
it). TFX records each run as a `pipeline_run` context named by the run id and each component as a `node`
context `<pipeline>.<node id>`; in the run, the StatisticsGen execution's output `statistics` is the
ExampleStatistics artifact and its input `examples` the cleaned examples it described. A cached execution is
followed back to the one that produced the statistics. ML Metadata needs no TensorFlow; this module reads the
store directly so the monitor needs nothing of the pipeline package.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Dict, List, Optional

from ml_metadata import errors, metadata_store
from ml_metadata.proto import metadata_store_pb2 as mlmd

from monitoring.reference import ReferenceError
from serving import layout

STATISTICS_NODE = "StatisticsGen"


@dataclasses.dataclass(frozen=True)
class TrainingData:
    run_id: str
    statistics_uri: str
    examples_uri: str


def _open(path: str) -> metadata_store.MetadataStore:
    if not os.path.exists(path):
        raise ReferenceError(f"no metadata store at {path}: no pipeline has run under this home")
    config = mlmd.ConnectionConfig()
    config.sqlite.filename_uri = path
    config.sqlite.connection_mode = mlmd.SqliteMetadataSourceConfig.READONLY
    return metadata_store.MetadataStore(config)


def _statistics_execution(store: metadata_store.MetadataStore, run_id: str) -> Optional[mlmd.Execution]:
    try:
        run = store.get_context_by_type_and_name("pipeline_run", run_id)
    except errors.NotFoundError:
        return None
    if run is None:
        return None
    found = None
    for execution in sorted(store.get_executions_by_context(run.id), key=lambda e: e.id):
        node_names = [c.name for c in store.get_contexts_by_execution(execution.id)
                      if store.get_context_types_by_id([c.type_id])[0].name == "node"]
        if any(name.split(".", 1)[-1] == STATISTICS_NODE for name in node_names):
            found = execution
    return found


def _artifacts(store, execution_id: int, event_type, key: str) -> List[mlmd.Artifact]:
    events = [ev for ev in store.get_events_by_execution_ids([execution_id])
              if ev.type == event_type and ev.path.steps and ev.path.steps[0].key == key]
    return store.get_artifacts_by_id([ev.artifact_id for ev in events]) if events else []


def _producer_inputs(store, artifact_id: int, key: str) -> List[mlmd.Artifact]:
    outputs = [ev for ev in store.get_events_by_artifact_ids([artifact_id]) if ev.type == mlmd.Event.OUTPUT]
    if not outputs:
        return []
    return _artifacts(store, min(ev.execution_id for ev in outputs), mlmd.Event.INPUT, key)


def training_data_of_version(metadata_path: str, serving_root: str, model_name: str, version: int) -> TrainingData:
    """The statistics and examples the version was trained on.

    Raises:
      ReferenceError: no metadata for the version, no metadata store, or no StatisticsGen in its run.
    """
    try:
        metadata: Dict[str, object] = layout.read_metadata(os.path.join(serving_root, model_name, str(version))) or {}
    except layout.LayoutError as error:
        raise ReferenceError(str(error)) from None
    run_id = str(metadata.get("run_id") or "")
    if not run_id:
        raise ReferenceError(f"version {version} of {model_name!r} under {serving_root} names no run "
                             f"(no {layout.METADATA_FILE}); pass --statistics and --examples")
    store = _open(metadata_path)
    execution = _statistics_execution(store, run_id)
    if execution is None:
        raise ReferenceError(f"run {run_id!r} (version {version}) has no {STATISTICS_NODE} in {metadata_path}")
    statistics = _artifacts(store, execution.id, mlmd.Event.OUTPUT, "statistics")
    examples = _artifacts(store, execution.id, mlmd.Event.INPUT, "examples")
    if statistics and not examples:
        examples = _producer_inputs(store, statistics[0].id, "examples")
    if not statistics or not examples:
        raise ReferenceError(f"{STATISTICS_NODE} of run {run_id!r} has no statistics/examples artifacts recorded")
    return TrainingData(run_id, statistics[0].uri, examples[0].uri)
