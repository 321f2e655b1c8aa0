"""`nlp2prod lineage VERSION`: where a pushed version came from, and what happened to it since.

Joins three records by the run id that the pusher writes into the version's `assets.extra/nlp2prod_metadata.json`:
  - ML Metadata (SQLite at HOME/metadata.sqlite): the run's executions, the span(s) its ExampleGen read, the model
    artifact, the Evaluator's metrics per language and blessing, and the baseline model it was compared with
    (mapped back to the version that baseline was pushed as);
  - the version's own metadata (push time, and the pusher's copy of metrics and baseline);
  - the serving audit log (`nlp2prod promote/canary/rollback`, JSON lines beside models.config): label moves to
    and from the version.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Dict, List, Optional

from pipeline import configs, metadata_store as mds, pushed_versions
from serving import audit_log, layout
from pipeline.evaluation_results import read_metrics

AUDIT_LOG_NAME = audit_log.path_for(layout.MODEL_CONFIG_FILE)


class LineageError(LookupError):
    """The version, its run or its metadata store cannot be found; the message says which and where."""


def trace_version(metadata_path: str, serving_root: str, model_name: str, version: int,
                  audit_log: Optional[str] = None) -> dict:
    """Everything known about one pushed version, as a JSON-ready dict.

    Raises:
      LineageError: no such version on disk, no metadata store, or no run of that id in it.
    """
    versions = pushed_versions.read_pushed_versions(serving_root, model_name)
    if version not in versions:
        known = ", ".join(map(str, sorted(versions))) or "none"
        raise LineageError(f"version {version} of {model_name!r} is not under {serving_root} (versions: {known})")
    metadata = versions[version]
    try:
        store = mds.open_store(metadata_path, read_only=True)
    except mds.MetadataStoreMissing as missing:
        raise LineageError(str(missing)) from None
    run_id = metadata.get("run_id", "")
    executions = mds.run_executions(store, run_id)
    if not executions:
        raise LineageError(f"the metadata store {metadata_path} has no run {run_id!r} (named by version {version})")
    return {
        "model_name": model_name, "version": version, "run_id": run_id,
        "pushed_at": metadata.get("pushed_at"),
        "data_spans": mds.run_input_spans(store, run_id),
        "components": [_component(store, node, e) for node, e in sorted(executions.items(), key=lambda i: i[1].id)],
        "model": _candidate_model(store, executions),
        "evaluation": _evaluation(store, executions, metadata),
        "baseline": _baseline(store, executions, versions, metadata),
        "labels": label_history(audit_log or os.path.join(serving_root, AUDIT_LOG_NAME), model_name, version),
    }


def _component(store, node_id: str, execution) -> dict:
    state = mds.mlmd.Execution.State.Name(execution.last_known_state)
    produced_by = ""
    if execution.last_known_state == mds.mlmd.Execution.CACHED:
        outputs = [a for items in mds.run_outputs(store, execution.id).values() for a in items]
        producers = [mds.producing_execution(store, a.id) for a in outputs[:1]]
        produced_by = ", ".join(r for p in producers if p for r in mds.runs_of_execution(store, p.id))
    return {"node": node_id, "execution_id": execution.id, "state": state, "reused_from_run": produced_by}


def _artifacts_of_type(store, execution_id: int, type_name: str, inputs: bool = False) -> Dict[str, list]:
    type_id = mds.type_id(store, "artifact", type_name)
    found = (mds.run_inputs if inputs else mds.run_outputs)(store, execution_id)
    return {key: [a for a in items if a.type_id == type_id] for key, items in found.items()
            if any(a.type_id == type_id for a in items)}


def _evaluator(store, executions) -> Optional[tuple]:
    for node_id, execution in executions.items():
        if _artifacts_of_type(store, execution.id, "ModelEvaluation"):
            return node_id, execution
    return None


def _candidate_model_id(store, executions) -> Optional[int]:
    found = _evaluator(store, executions)
    if found:
        models = _artifacts_of_type(store, found[1].id, "Model", inputs=True).get("model", [])
        if models:
            return models[0].id
    for execution in executions.values():
        for items in _artifacts_of_type(store, execution.id, "Model").values():
            return items[0].id
    return None


def _candidate_model(store, executions) -> dict:
    model_id = _candidate_model_id(store, executions)
    if model_id is None:
        return {}
    artifact = store.get_artifacts_by_id([model_id])[0]
    producer = mds.producing_execution(store, model_id)
    return {"artifact_id": model_id, "uri": artifact.uri,
            "trained_in_run": ", ".join(mds.runs_of_execution(store, producer.id)) if producer else ""}


def _evaluation(store, executions, metadata: dict) -> dict:
    found = _evaluator(store, executions)
    if not found:
        return {"source": "version metadata", "metrics": metadata.get("metrics", {})}
    node_id, execution = found
    evaluation = _artifacts_of_type(store, execution.id, "ModelEvaluation")
    uri = next(iter(evaluation.values()))[0].uri
    blessings = [a for items in _artifacts_of_type(store, execution.id, "ModelBlessing").values() for a in items]
    blessed = mds.property_value(blessings[0], "blessed") if blessings else None
    return {"source": node_id, "uri": uri, "blessed": None if blessed is None else bool(blessed),
            "metrics": read_metrics(uri) or metadata.get("metrics", {})}


def _baseline(store, executions, versions: Dict[int, dict], metadata: dict) -> dict:
    found = _evaluator(store, executions)
    baseline_ids = []
    if found:
        baseline_ids = [a.id for a in _artifacts_of_type(store, found[1].id, "Model", inputs=True)
                        .get("baseline_model", [])]
    if not baseline_ids:
        return {"version": metadata.get("baseline_version"), "model_artifact_id": None,
                "source": "version metadata" if metadata.get("baseline_version") is not None else "none (first model)"}
    by_model = {}
    for other, other_metadata in versions.items():
        model_id = _candidate_model_id(store, mds.run_executions(store, other_metadata.get("run_id", "")))
        by_model.setdefault(model_id, other)
    return {"version": by_model.get(baseline_ids[0], metadata.get("baseline_version")),
            "model_artifact_id": baseline_ids[0], "source": found[0]}


def label_history(audit_log_path: str, model_name: str, version: int) -> dict:
    """Label moves to and from `version` in the serving audit log, and the labels that point at it now."""
    events: List[dict] = []
    current: Dict[str, int] = {}
    for record in audit_log.records(audit_log_path, model_name):
        for move in record.get("moves", []):
            current[move["label"]] = move["to_version"]
            if version in (move.get("to_version"), move.get("from_version")):
                events.append({"time": record.get("time"), "user": record.get("user"),
                               "action": record.get("action"), "label": move["label"],
                               "from_version": move.get("from_version"), "to_version": move["to_version"]})
    return {"audit_log": audit_log_path, "events": events,
            "current": sorted(label for label, target in current.items() if target == version)}


def format_lineage(lineage: dict) -> str:
    """The lineage as a short report for a terminal."""
    lines = [f"{lineage['model_name']} version {lineage['version']}",
             f"  pushed     {lineage['pushed_at']} by run {lineage['run_id']}",
             f"  data       span(s) {', '.join(map(str, lineage['data_spans'])) or 'unknown'}"]
    model = lineage["model"]
    if model:
        lines.append(f"  model      artifact {model['artifact_id']} trained in run {model['trained_in_run']}")
    baseline = lineage["baseline"]
    versus = baseline["version"] if baseline["version"] is not None else "nothing (first model)"
    lines.append(f"  compared   against version {versus} (from {baseline['source']})")
    evaluation = lineage["evaluation"]
    verdict = {True: "blessed", False: "NOT blessed", None: "blessing unknown"}[evaluation.get("blessed")]
    lines.append(f"  evaluation {verdict} (from {evaluation['source']})")
    lines += _metric_lines(evaluation["metrics"])
    lines.append("  run steps  " + ", ".join(
        f"{c['node']}={c['state'].lower()}" + (f" (from run {c['reused_from_run']})" if c["reused_from_run"] else "")
        for c in lineage["components"]))
    labels = lineage["labels"]
    lines.append(f"  labels now {', '.join(labels['current']) or 'none'}")
    for event in labels["events"]:
        lines.append(f"    {event['time']} {event['action']} by {event['user']}: {event['label']} "
                     f"{event['from_version']} -> {event['to_version']}")
    return "\n".join(lines)


def _metric_lines(metrics: dict) -> List[str]:
    flat = dict(metrics.get("per_language", {}), overall=metrics["overall"]) if "overall" in metrics and \
        "per_language" in metrics else metrics
    lines = []
    for slice_name in sorted(flat, key=lambda s: (s != "overall", s)):
        values = flat[slice_name]
        shown = ", ".join(f"{name} {_number(value)}" for name, value in sorted(values.items()))
        lines.append(f"    {slice_name:<14} {shown}")
    return lines


def _number(value) -> str:
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.4f}"
    return str(value)


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of `nlp2prod lineage`."""
    parser = argparse.ArgumentParser(prog="nlp2prod lineage", description=__doc__.split("\n")[0])
    parser.add_argument("version", type=int, help="the pushed version number")
    parser.add_argument("--home", default=configs.DEFAULT_HOME, help="state directory (default: %(default)s)")
    parser.add_argument("--serving-root", help="where versions are pushed (default: HOME/serving)")
    parser.add_argument("--model-name", default=configs.PushConfig.model_name, help="default: %(default)s")
    parser.add_argument("--audit-log", help=f"serving audit log (default: SERVING_ROOT/{AUDIT_LOG_NAME})")
    parser.add_argument("--json", action="store_true", help="print the lineage as JSON")
    args = parser.parse_args(argv)
    config = configs.for_home(args.home, serving_root=args.serving_root, model_name=args.model_name)
    try:
        lineage = trace_version(config.metadata_path, config.push.serving_root, config.push.model_name,
                                args.version, args.audit_log)
    except (LineageError, ValueError) as error:
        print(f"nlp2prod lineage: {error}", file=sys.stderr)
        return 1
    print(json.dumps(lineage, indent=2, sort_keys=True) if args.json else format_lineage(lineage))
    return 0
