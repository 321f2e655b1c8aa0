"""Finding a version's training data: version metadata (run id) → ML Metadata → that run's StatisticsGen.

The pusher writes the run id into `<serving_root>/<model>/<version>/assets.extra/nlp2prod_metadata.json`
(`pipeline.lineage` joins the same records). In the run, the StatisticsGen execution's output `statistics` is
the ExampleStatistics artifact and its input `examples` the cleaned examples it described; a cached execution
is followed back to the one that produced the statistics. ML Metadata needs no TensorFlow.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Dict, Optional

from monitoring.reference import ReferenceError

STATISTICS_NODE = "StatisticsGen"
METADATA_FILE = os.path.join("assets.extra", "nlp2prod_metadata.json")


@dataclasses.dataclass(frozen=True)
class TrainingData:
    run_id: str
    statistics_uri: str
    examples_uri: str


def version_metadata(serving_root: str, model_name: str, version: int) -> Dict[str, object]:
    """The pushed version's metadata file, or {} when there is none."""
    path = os.path.join(serving_root, model_name, str(version), METADATA_FILE)
    if not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def training_data_of_version(metadata_path: str, serving_root: str, model_name: str, version: int) -> TrainingData:
    """The statistics and examples the version was trained on.

    Raises:
      ReferenceError: no metadata for the version, no metadata store, or no StatisticsGen in its run.
    """
    from pipeline import metadata_store as mds

    run_id = str(version_metadata(serving_root, model_name, version).get("run_id") or "")
    if not run_id:
        raise ReferenceError(f"version {version} of {model_name!r} under {serving_root} names no run "
                             f"(no {METADATA_FILE}); pass --statistics and --examples")
    try:
        store = mds.open_store(metadata_path, read_only=True)
    except mds.MetadataStoreMissing as missing:
        raise ReferenceError(str(missing)) from None
    execution = mds.run_executions(store, run_id).get(STATISTICS_NODE)
    if execution is None:
        raise ReferenceError(f"run {run_id!r} (version {version}) has no {STATISTICS_NODE} in {metadata_path}")
    statistics = _first(mds.run_outputs(store, execution.id), "statistics")
    examples = _first(mds.run_inputs(store, execution.id), "examples")
    if statistics is not None and examples is None:
        producer = mds.producing_execution(store, statistics.id)
        examples = _first(mds.run_inputs(store, producer.id), "examples") if producer else None
    if statistics is None or examples is None:
        raise ReferenceError(f"{STATISTICS_NODE} of run {run_id!r} has no statistics/examples artifacts recorded")
    return TrainingData(run_id, statistics.uri, examples.uri)


def _first(artifacts: Dict[str, list], key: str) -> Optional[object]:
    items = artifacts.get(key) or []
    return items[0] if items else None
