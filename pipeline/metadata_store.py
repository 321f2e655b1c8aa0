"""Read and repair access to the pipeline's ML Metadata store (SQLite at `RunConfig.metadata_path`).

TFX records every run as a `pipeline_run` context named by the run id, every component as a `node` context
named `<pipeline>.<node id>`, and each execution with its input/output artifacts. The queries here answer the
operations questions (what did run X produce, from which span) without knowing which components exist.
"""

from __future__ import annotations

import os
from typing import Dict, Iterable, List, Optional

from ml_metadata import errors, metadata_store
from ml_metadata.proto import metadata_store_pb2 as mlmd

ACTIVE_STATES = (mlmd.Execution.NEW, mlmd.Execution.RUNNING)


class MetadataStoreMissing(FileNotFoundError):
    """The metadata store file does not exist (no run has happened under this home)."""


def open_store(path: str, read_only: bool = False) -> metadata_store.MetadataStore:
    """Opens the SQLite store; read-only opening requires the file to exist.

    Raises:
      MetadataStoreMissing: `read_only` and no store at `path`.
    """
    if read_only and not os.path.exists(path):
        raise MetadataStoreMissing(f"no metadata store at {path}: no pipeline has run under this home")
    config = mlmd.ConnectionConfig()
    config.sqlite.filename_uri = path
    config.sqlite.connection_mode = (mlmd.SqliteMetadataSourceConfig.READONLY if read_only
                                     else mlmd.SqliteMetadataSourceConfig.READWRITE_OPENCREATE)
    return metadata_store.MetadataStore(config)


def cancel_orphaned_executions(store: metadata_store.MetadataStore, reason: str) -> List[int]:
    """Marks executions left NEW/RUNNING by a dead run as CANCELED, and their pending outputs ABANDONED.

    Call only while holding the run lock: then no live process can own an active execution.

    Args:
      store: a writable store.
      reason: recorded on each execution as the custom property `nlp2prod_recovery`.

    Returns:
      The ids of the executions that were cancelled.
    """
    return close_active_executions(store, store.get_executions(), mlmd.Execution.CANCELED, reason)


def fail_active_executions(store: metadata_store.MetadataStore, run_id: str, reason: str) -> List[int]:
    """Marks the executions of a run that raised but are still NEW/RUNNING (a driver that failed after
    registering its execution) as FAILED, so the store never shows a finished run as running."""
    context = run_context(store, run_id)
    if context is None:
        return []
    return close_active_executions(store, store.get_executions_by_context(context.id), mlmd.Execution.FAILED,
                                   reason)


def close_active_executions(store: metadata_store.MetadataStore, executions: Iterable[mlmd.Execution],
                            state: int, reason: str) -> List[int]:
    """Sets the NEW/RUNNING ones among `executions` to `state` with the reason as `nlp2prod_recovery`, and
    their pending output artifacts to ABANDONED; returns the ids changed."""
    active = [e for e in executions if e.last_known_state in ACTIVE_STATES]
    for execution in active:
        execution.last_known_state = state
        execution.custom_properties["nlp2prod_recovery"].string_value = reason
    if active:
        store.put_executions(active)
        pending = [a for a in _output_artifacts(store, [e.id for e in active]) if a.state == mlmd.Artifact.PENDING]
        for artifact in pending:
            artifact.state = mlmd.Artifact.ABANDONED
        if pending:
            store.put_artifacts(pending)
    return [e.id for e in active]


def run_context(store: metadata_store.MetadataStore, run_id: str) -> Optional[mlmd.Context]:
    """The `pipeline_run` context of a run, or None when MLMD has no such run."""
    if type_id(store, "context", "pipeline_run") is None:
        return None
    return store.get_context_by_type_and_name("pipeline_run", run_id)


def type_id(store: metadata_store.MetadataStore, kind: str, name: str) -> Optional[int]:
    """Id of an artifact/execution/context type by name, or None when no run has registered it yet."""
    getter = {"artifact": store.get_artifact_type, "execution": store.get_execution_type,
              "context": store.get_context_type}[kind]
    try:
        return getter(name).id
    except errors.NotFoundError:
        return None


def node_id_of(store: metadata_store.MetadataStore, execution_id: int) -> str:
    """The pipeline node id (e.g. `Trainer`) an execution belongs to, from its `node` context."""
    for context in store.get_contexts_by_execution(execution_id):
        if store.get_context_types_by_id([context.type_id])[0].name == "node":
            return context.name.split(".", 1)[-1]
    return ""


def run_executions(store: metadata_store.MetadataStore, run_id: str) -> Dict[str, mlmd.Execution]:
    """Executions of one run, keyed by node id (the last one wins when a node ran twice)."""
    context = run_context(store, run_id)
    if context is None:
        return {}
    executions = sorted(store.get_executions_by_context(context.id), key=lambda e: e.id)
    return {node_id_of(store, e.id): e for e in executions}


def run_outputs(store: metadata_store.MetadataStore, execution_id: int) -> Dict[str, List[mlmd.Artifact]]:
    """Output artifacts of an execution keyed by output name (`examples`, `model`, `blessing`, ...)."""
    return _artifacts_by_key(store, [execution_id], mlmd.Event.OUTPUT)


def run_inputs(store: metadata_store.MetadataStore, execution_id: int) -> Dict[str, List[mlmd.Artifact]]:
    """Input artifacts of an execution keyed by input name (`model`, `baseline_model`, ...)."""
    return _artifacts_by_key(store, [execution_id], mlmd.Event.INPUT)


def producing_execution(store: metadata_store.MetadataStore, artifact_id: int) -> Optional[mlmd.Execution]:
    """The execution that first output an artifact (the producer, not a cached re-publication)."""
    events = [ev for ev in store.get_events_by_artifact_ids([artifact_id])
              if ev.type in (mlmd.Event.OUTPUT, mlmd.Event.DECLARED_OUTPUT)]
    if not events:
        return None
    return store.get_executions_by_id([min(ev.execution_id for ev in events)])[0]


def runs_of_execution(store: metadata_store.MetadataStore, execution_id: int) -> List[str]:
    """Run ids whose `pipeline_run` context contains an execution."""
    run_type = type_id(store, "context", "pipeline_run")
    return [c.name for c in store.get_contexts_by_execution(execution_id) if c.type_id == run_type]


def run_input_spans(store: metadata_store.MetadataStore, run_id: str) -> List[int]:
    """Spans the run read: the `span` of Examples made by a node that takes no Examples in (ExampleGen)."""
    examples_type = type_id(store, "artifact", "Examples")
    spans = set()
    for execution in run_executions(store, run_id).values():
        inputs = run_inputs(store, execution.id).values()
        if any(a.type_id == examples_type for artifacts in inputs for a in artifacts):
            continue
        for artifacts in run_outputs(store, execution.id).values():
            # ExampleGen keeps `span` as a custom property, the toy and older TFX as a property.
            spans.update(int(property_value(a, "span")) for a in artifacts
                         if a.type_id == examples_type and property_value(a, "span") is not None)
    return sorted(spans)


def execution_seconds(store: metadata_store.MetadataStore, run_id: str) -> Dict[str, float]:
    """Wall seconds of each node in a run, from MLMD's create and last-update times (cached nodes are ~0)."""
    return {node_id: (e.last_update_time_since_epoch - e.create_time_since_epoch) / 1000.0
            for node_id, e in run_executions(store, run_id).items()}


def property_value(item, name: str):
    """A property or custom property of an artifact/execution as a Python value, or None."""
    for properties in (item.properties, item.custom_properties):
        if name in properties:
            value = properties[name]
            kind = value.WhichOneof("value")
            return getattr(value, kind) if kind else None
    return None


def _output_artifacts(store, execution_ids: Iterable[int]) -> List[mlmd.Artifact]:
    return [a for items in _artifacts_by_key(store, execution_ids, mlmd.Event.OUTPUT).values() for a in items]


def _artifacts_by_key(store, execution_ids: Iterable[int], event_type) -> Dict[str, List[mlmd.Artifact]]:
    events = [ev for ev in store.get_events_by_execution_ids(list(execution_ids)) if ev.type == event_type]
    artifacts = {a.id: a for a in store.get_artifacts_by_id([ev.artifact_id for ev in events])}
    by_key: Dict[str, List[mlmd.Artifact]] = {}
    for ev in events:
        key = ev.path.steps[0].key if ev.path.steps else ""
        by_key.setdefault(key, []).append(artifacts[ev.artifact_id])
    return by_key
