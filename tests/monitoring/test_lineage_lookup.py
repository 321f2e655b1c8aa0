"""Lineage lookup on an ML Metadata store laid out as TFX records a run: `pipeline_run` and `node` contexts, the
StatisticsGen execution with its `examples` input and `statistics` output, and a cached re-run."""

import json
import os

import pytest
from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2 as mlmd

from monitoring.lineage_lookup import training_data_of_version
from monitoring.reference import ReferenceError


def _store(path):
    config = mlmd.ConnectionConfig()
    config.sqlite.filename_uri = path
    config.sqlite.connection_mode = mlmd.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    return metadata_store.MetadataStore(config)


def _type(store, kind, name):
    proto = {"context": mlmd.ContextType, "execution": mlmd.ExecutionType, "artifact": mlmd.ArtifactType}[kind]
    put = {"context": store.put_context_type, "execution": store.put_execution_type,
           "artifact": store.put_artifact_type}[kind]
    return put(proto(name=name))


def _execution(store, run_id, node, inputs, outputs):
    """One execution of `node` in run `run_id`, with (key, artifact id) inputs and outputs."""
    types = {name: _type(store, "context", name) for name in ("pipeline_run", "node")}
    [execution_id] = store.put_executions([mlmd.Execution(type_id=_type(store, "execution", node),
                                                          last_known_state=mlmd.Execution.COMPLETE)])
    contexts = []
    for type_name, name in (("pipeline_run", run_id), ("node", f"nlp2prod.{node}")):
        found = store.get_context_by_type_and_name(type_name, name)
        contexts.append(found.id if found else store.put_contexts([mlmd.Context(type_id=types[type_name],
                                                                                name=name)])[0])
    events = []
    for kind, items in ((mlmd.Event.INPUT, inputs), (mlmd.Event.OUTPUT, outputs)):
        for key, artifact_id in items:
            event = mlmd.Event(artifact_id=artifact_id, execution_id=execution_id, type=kind)
            event.path.steps.add(key=key)
            events.append(event)
    store.put_events(events)
    store.put_attributions_and_associations(
        [], [mlmd.Association(context_id=c, execution_id=execution_id) for c in contexts])


def _version(serving_root, version, run_id):
    extra = os.path.join(serving_root, "nlp2prod", str(version), "assets.extra")
    os.makedirs(extra)
    with open(os.path.join(extra, "nlp2prod_metadata.json"), "w", encoding="utf-8") as handle:
        json.dump({"run_id": run_id, "version": version}, handle)


def test_statistics_and_examples_of_a_version_and_of_a_cached_rerun(tmp_path):
    path, serving_root = str(tmp_path / "metadata.sqlite"), str(tmp_path / "serving")
    store = _store(path)
    examples_type, statistics_type = _type(store, "artifact", "Examples"), _type(store, "artifact", "ExampleStatistics")
    examples, statistics = store.put_artifacts([mlmd.Artifact(type_id=examples_type, uri="/runs/1/cleaned"),
                                                mlmd.Artifact(type_id=statistics_type, uri="/runs/1/statistics")])
    _execution(store, "run-1", "StatisticsGen", [("examples", examples)], [("statistics", statistics)])
    _execution(store, "run-2", "StatisticsGen", [], [("statistics", statistics)])  # cached: outputs only
    _version(serving_root, 1, "run-1")
    _version(serving_root, 2, "run-2")
    _version(serving_root, 3, "run-9")
    for version, run_id in ((1, "run-1"), (2, "run-2")):
        found = training_data_of_version(path, serving_root, "nlp2prod", version)
        assert (found.run_id, found.statistics_uri, found.examples_uri) == (run_id, "/runs/1/statistics",
                                                                            "/runs/1/cleaned")
    with pytest.raises(ReferenceError, match="run 'run-9'.*no StatisticsGen"):
        training_data_of_version(path, serving_root, "nlp2prod", 3)
    with pytest.raises(ReferenceError, match="names no run"):
        training_data_of_version(path, serving_root, "nlp2prod", 4)
    with pytest.raises(ReferenceError, match="no metadata store"):
        training_data_of_version(str(tmp_path / "none.sqlite"), serving_root, "nlp2prod", 1)
