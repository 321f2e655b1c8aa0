"""Run the pipeline on this machine: LocalDagRunner, SQLite MLMD, one run at a time, a record of every attempt.

Order of one run: take the run lock (refuse when held) → cancel executions a killed run left RUNNING in MLMD →
build the pipeline from the config (so the newest span is picked up on every call) → run it under a run id chosen
here → find what it pushed (the version whose metadata names the run id) or why it did not → append the record
to the run history.
"""

from __future__ import annotations

import datetime
import os
import time
from typing import Callable, List, Optional, Tuple

from tfx import v1 as tfx
from tfx.dsl.compiler import compiler, constants
from tfx.orchestration.local.local_dag_runner import LocalDagRunner
from tfx.orchestration.portable import runtime_parameter_utils

from models import artifact_reports
from models.gates import GateRefusal
from pipeline import metadata_store, pushed_versions
from pipeline.configs import RunConfig
from pipeline.run_history import RunRecord, append_record
from pipeline.run_lock import RunLockHeld, run_lock
from pipeline.runners.beam import with_beam_target

PipelineFactory = Callable[..., "tfx.dsl.Pipeline"]



def new_run_id() -> str:
    """A run id that sorts by start time (UTC, microseconds)."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def run_local(config: RunConfig, pipeline_factory: Optional[PipelineFactory] = None,
              trigger: str = "manual") -> RunRecord:
    """Runs the whole pipeline once, records the outcome in the run history, and raises what failed.

    Args:
      config: the run configuration; `config.home` holds the lock, MLMD, pipeline root and history.
      pipeline_factory: `create_pipeline`-shaped callable; the project's pipeline when None.
      trigger: who started the run ("manual", "schedule"), kept in the history.

    Returns:
      The history record of a run that finished: outcome pushed (with the version) or refused (with reasons).

    Raises:
      RunLockHeld: another run holds the lock; a "skipped" record naming the holder is appended first.
      Exception: the component's own error when a component failed (after a "failed" record is appended).
    """
    record, error = _attempt(config, pipeline_factory, trigger)
    if error is not None:
        raise error
    return record


def run_once(config: RunConfig, pipeline_factory: Optional[PipelineFactory] = None,
             trigger: str = "schedule") -> RunRecord:
    """Like `run_local`, but every outcome comes back as its record (for schedules): a failed run as "failed", a
    run refused by the lock as "skipped" naming the holder. Both are in the run history too.
    """
    return _attempt(config, pipeline_factory, trigger, raise_when_locked=False)[0]


def _attempt(config: RunConfig, pipeline_factory: Optional[PipelineFactory], trigger: str,
             raise_when_locked: bool = True) -> Tuple[RunRecord, Optional[Exception]]:
    if pipeline_factory is None:
        from pipeline.pipeline import create_pipeline as pipeline_factory
    run_id = new_run_id()
    record = RunRecord(run_id=run_id, outcome="failed", started_at=_now(), trigger=trigger)
    try:
        with run_lock(config.run_lock_path, run_id) as grant:
            error = _run_locked(config, pipeline_factory, record, grant.dead_holder)
    except RunLockHeld as held:
        record.outcome, record.reasons, record.finished_at = "skipped", [str(held)], _now()
        append_record(config.run_history_path, record)
        if raise_when_locked:
            raise
        return record, None
    append_record(config.run_history_path, record)
    return record, error


def _run_locked(config: RunConfig, pipeline_factory: PipelineFactory, record: RunRecord,
                dead_holder: Optional[dict]) -> Optional[Exception]:
    os.makedirs(config.home, exist_ok=True)
    store = metadata_store.open_store(config.metadata_path)
    record.recovered_executions = metadata_store.cancel_orphaned_executions(
        store, f"its run died without finishing; cancelled before run {record.run_id}")
    record.removed_staging = pushed_versions.remove_stale_staging(config.push.serving_root, config.push.model_name)
    if dead_holder:
        dead = _dead_run_record(dead_holder, record)
        dead.failed_component = ", ".join(metadata_store.node_id_of(store, e) for e in record.recovered_executions)
        append_record(config.run_history_path, dead)
    started = time.monotonic()
    failure: Optional[Exception] = None
    node_ids: List[str] = []
    try:
        ir = compile_run(config, pipeline_factory, record.run_id)
        node_ids = [node.pipeline_node.node_info.id for node in ir.nodes]
        LocalDagRunner().run_with_ir(ir)
    except Exception as error:  # noqa: BLE001 - every component failure becomes a "failed" record
        failure = error
        record.error = f"{type(error).__name__}: {error}"
        record.failed_component = _failed_node(store, record.run_id, node_ids)
        metadata_store.fail_active_executions(store, record.run_id, record.error)
        if isinstance(error, GateRefusal):  # a gate stopped the run on purpose: refused, not failed
            record.outcome, record.reasons = "refused", [f"{record.failed_component}: {error}"]
    else:
        _read_outcome(config, store, record)
    record.wall_s = round(time.monotonic() - started, 3)
    record.finished_at = _now()
    record.spans = metadata_store.run_input_spans(store, record.run_id)
    return failure


def _dead_run_record(dead_holder: dict, successor: RunRecord) -> RunRecord:
    """The record a killed run could not write itself, written by the next run that found its lock content."""
    return RunRecord(
        run_id=dead_holder.get("run_id", ""), outcome="failed", started_at=dead_holder.get("started_at", ""),
        finished_at=successor.started_at, trigger="unknown",
        error=(f"the run's process (pid {dead_holder.get('pid')} on {dead_holder.get('host')}) ended without "
               f"finishing (killed or crashed); found by run {successor.run_id}"),
        recovered_executions=list(successor.recovered_executions))


def compile_run(config: RunConfig, pipeline_factory: PipelineFactory, run_id: str):
    """The pipeline IR for one local run, with the run id filled in (LocalDagRunner would use local time)."""
    connection = tfx.orchestration.metadata.sqlite_metadata_connection_config(config.metadata_path)
    logical = pipeline_factory(with_beam_target(config), connection)
    for component in logical.components:
        # The same step LocalDagRunner.run takes before compiling; run_with_ir skips it.
        if hasattr(component, "_resolve_pip_dependencies"):
            component._resolve_pip_dependencies(logical.pipeline_info.pipeline_root)  # pylint: disable=protected-access
    ir = compiler.Compiler().compile(logical)
    # One run id shared by the history record, MLMD's pipeline_run context and the pushed version's metadata.
    runtime_parameter_utils.substitute_runtime_parameter(ir, {constants.PIPELINE_RUN_ID_PARAMETER_NAME: run_id})
    return ir


def _read_outcome(config: RunConfig, store, record: RunRecord) -> None:
    version = pushed_versions.version_pushed_by(config.push.serving_root, config.push.model_name, record.run_id)
    if version is not None:
        record.outcome, record.version = "pushed", version
    else:
        record.outcome, record.reasons = "refused", refusal_reasons(store, record.run_id)


def refusal_reasons(store, run_id: str) -> List[str]:
    """Why a finished run pushed nothing, from what its components recorded.

    The pusher's own report (`push_report.json` beside a PushedModel with `pushed` = 0) names what every gate
    found and is used when present; otherwise each output artifact that says no (`blessed` = 0 from the
    Evaluator or ServingCheck, `pushed` = 0) gives a line, with the Evaluator's failed thresholds.
    """
    executions = metadata_store.run_executions(store, run_id)
    if executions and all(e.last_known_state == metadata_store.mlmd.Execution.CACHED for e in executions.values()):
        return [f"nothing changed since an earlier run: all {len(executions)} components were reused from the "
                f"cache, so their earlier outcome stands"]
    said_no = []
    for node_id, execution in sorted(executions.items(), key=lambda item: item[1].id):
        outputs = [a for items in metadata_store.run_outputs(store, execution.id).values() for a in items]
        said_no += [(node_id, artifact, outputs) for artifact in outputs if _says_no(artifact)]
    reported = [f"{node_id}: {reason}" for node_id, artifact, _ in said_no
                if metadata_store.property_value(artifact, "pushed") == 0
                for reason in _push_report_reasons(artifact.uri)]
    if reported:
        return reported
    reasons = [line for node_id, artifact, outputs in said_no for line in _refusal_lines(store, node_id, artifact,
                                                                                         outputs)]
    return reasons or ["no version pushed, and no component recorded a refusal"]


def _says_no(artifact) -> bool:
    return any(metadata_store.property_value(artifact, name) == 0 for name in ("blessed", "pushed"))


def _refusal_lines(store, node_id: str, artifact, siblings) -> List[str]:
    verdict = "not blessed" if metadata_store.property_value(artifact, "blessed") == 0 else "not pushed"
    detail = metadata_store.property_value(artifact, "reasons") or metadata_store.property_value(artifact, "reason")
    if detail:
        return [f"{node_id}: {verdict}: {detail}"]
    evaluation_type = metadata_store.type_id(store, "artifact", "ModelEvaluation")
    failures = [failure for sibling in siblings if sibling.type_id == evaluation_type
                for failure in _gate_failures(sibling.uri)]
    return [f"{node_id}: {verdict}" + (f": {failure}" if failure else "") for failure in failures or [""]]


def _push_report_reasons(pushed_model_uri: str) -> List[str]:
    """The reasons the VersionPusher wrote beside its PushedModel (both gates' findings, one per line)."""
    try:
        return list(artifact_reports.read(pushed_model_uri, artifact_reports.PUSH_REPORT).get("reasons", []))
    except ValueError:
        return []


def _gate_failures(evaluation_uri: str) -> List[str]:
    from models.evaluation.gate import read_failures  # TFMA: only when a model was refused

    try:
        return [str(failure) for failure in read_failures(evaluation_uri)]
    except FileNotFoundError:
        return []


def _failed_node(store, run_id: str, node_ids: List[str]) -> str:
    """The node whose execution FAILED; else (a driver that raised before registering one) the first node in
    pipeline order that did not finish."""
    executions = metadata_store.run_executions(store, run_id)
    for node_id, execution in executions.items():
        if execution.last_known_state == metadata_store.mlmd.Execution.FAILED:
            return node_id
    finished = (metadata_store.mlmd.Execution.COMPLETE, metadata_store.mlmd.Execution.CACHED)
    for node_id in node_ids:
        if node_id not in executions or executions[node_id].last_known_state not in finished:
            return node_id
    return ""


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
