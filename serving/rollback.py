"""Label moves (promote, canary, rollback) as a pure planner plus one small I/O step.

Planner: a ModelServerConfig, the versions on disk and served, and the move in; the configs to apply out, in
order. TF Serving only lets a label point at an AVAILABLE version, so moving `stable` from N to M is:
  1. load  - pin the served versions plus M (`specific` policy), labels unchanged; wait until M is AVAILABLE;
  2. label - move the label to M (versions unchanged, so requests holding N finish on N);
  3. prune - keep only labelled versions plus N (so a rollback is instant); N's in-flight requests finish first.
Steps that change nothing are left out. The same configs drive tensorflow_model_server unchanged.

I/O step (`apply_plan`): for each step, write models.config atomically after parsing it back with the protos,
call HandleReloadConfigRequest, wait for the version the next step needs; restore the previous file if the
server refuses; finally append one JSON line to the audit log (time, user, action, model, label, from, to).
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time
from typing import Callable, Dict, Iterable, List, Optional, Sequence

from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from serving import audit_log, config as config_lib
from serving.errors import ConfigError, DeadlineExceeded, FailedPrecondition, InvalidArgument, ServingError

ModelServerConfig = model_server_config_pb2.ModelServerConfig


@dataclasses.dataclass(frozen=True)
class Step:
    """One config to apply; `wait_for` is a version that must be AVAILABLE before the next step."""

    name: str
    config: ModelServerConfig
    wait_for: Optional[int] = None


@dataclasses.dataclass(frozen=True)
class LabelMove:
    """A change of one label, as recorded in the audit log."""

    label: str
    from_version: Optional[int]
    to_version: int


def model_entry(config: ModelServerConfig, model: str) -> model_server_config_pb2.ModelConfig:
    for entry in config.model_config_list.config:
        if entry.name == model:
            return entry
    names = ", ".join(e.name for e in config.model_config_list.config) or "none"
    raise InvalidArgument(f"model {model!r} is not in the model config (models: {names})")


def plan_label_move(config: ModelServerConfig, model: str, label: str, target: int, on_disk: Iterable[int],
                    served: Iterable[int], drop_labels: Sequence[str] = ()) -> List[Step]:
    """The steps that point `label` of `model` at version `target` without a failed request."""
    on_disk, served = sorted(set(on_disk)), sorted(set(served))
    if target not in on_disk:
        raise InvalidArgument(f"version {target} of model {model} is not on disk (versions on disk: "
                              f"{', '.join(map(str, on_disk)) or 'none'})")
    entry = model_entry(config, model)
    labels: Dict[str, int] = dict(entry.version_labels)
    previous = labels.get(label)
    pinned = _pinned_versions(entry, served) | set(labels.values())
    after = {k: v for k, v in labels.items() if k not in drop_labels}
    after[label] = target
    if previous == target and after == labels and target in pinned:
        return []
    steps = []
    if target not in pinned:
        steps.append(Step("load", _with(config, model, pinned | {target}, labels), wait_for=target))
    loaded = pinned | {target}
    steps.append(Step("label", _with(config, model, loaded, after)))
    kept = set(after.values()) | ({previous} if previous is not None else set())
    if kept != loaded:
        steps.append(Step("prune", _with(config, model, kept, after)))
    return steps


def _pinned_versions(entry: model_server_config_pb2.ModelConfig, served: Sequence[int]) -> set:
    policy = entry.model_version_policy
    if policy.WhichOneof("policy_choice") == "specific":
        return set(policy.specific.versions)
    return set(served)


def _with(config: ModelServerConfig, model: str, versions: Iterable[int], labels: Dict[str, int]) -> ModelServerConfig:
    updated = ModelServerConfig()
    updated.CopyFrom(config)
    entry = model_entry(updated, model)
    entry.model_version_policy.Clear()
    entry.model_version_policy.specific.versions.extend(sorted(set(versions)))
    entry.version_labels.clear()
    for name, version in sorted(labels.items()):
        entry.version_labels[name] = version
    return updated


def rollback_target(current: int, on_disk: Iterable[int], history: Sequence[LabelMove],
                    label: str = "stable") -> int:
    """The version `label` pointed at before it moved to `current` (from the audit history), else the highest
    version on disk below `current`."""
    on_disk = set(on_disk)
    for move in reversed(history):
        if move.label == label and move.to_version == current and move.from_version in on_disk:
            return move.from_version
    older = [v for v in on_disk if v < current]
    if not older:
        raise FailedPrecondition(f"no version older than {current} to roll '{label}' back to")
    return max(older)


# ---- I/O ------------------------------------------------------------------------------------------------------

def read_config(path: str) -> ModelServerConfig:
    return config_lib.read_model_server_config(path)


def write_config(path: str, config: ModelServerConfig) -> None:
    """Writes a models.config atomically, after checking that the text parses back to the same config."""
    text = config_lib.model_server_config_text(config)
    parsed = text_format.Parse(text, ModelServerConfig())
    if parsed != config:
        raise ConfigError(f"{path}: the config does not survive a text round trip")
    config_lib.served_models(parsed, path)
    directory = os.path.dirname(os.path.abspath(path))
    handle, staging = tempfile.mkstemp(prefix=".models.config.", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(staging, path)
    except BaseException:
        if os.path.exists(staging):
            os.unlink(staging)
        raise


def apply_plan(steps: Sequence[Step], config_path: str, reload: Callable[[ModelServerConfig], None],
               version_state: Callable[[int], tuple], timeout: float = 300.0, poll: float = 0.2) -> None:
    """Applies the steps in order; on a refused step the file goes back to the config the server still runs.

    `reload` sends HandleReloadConfigRequest; `version_state(v)` returns (state name, error message).
    """
    current = read_config(config_path) if os.path.exists(config_path) else None
    for step in steps:
        write_config(config_path, step.config)
        try:
            reload(step.config)
            if step.wait_for is not None:
                _wait_available(step.wait_for, version_state, timeout, poll)
        except ServingError:
            if current is not None:
                write_config(config_path, current)
            raise
        current = step.config


def _wait_available(version: int, version_state: Callable[[int], tuple], timeout: float, poll: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            state, error = version_state(version)
        except ServingError:
            state, error = "START", ""
        if state == "AVAILABLE":
            return
        if state == "END" and error:
            raise FailedPrecondition(f"version {version} failed to load: {error}")
        if time.monotonic() > deadline:
            raise DeadlineExceeded(f"version {version} is still {state} after {timeout:.0f}s")
        time.sleep(poll)


def append_audit(path: str, user: str, action: str, model: str, moves: Sequence[LabelMove],
                 config_path: str) -> None:
    audit_log.append(path, user, action, model, [dataclasses.asdict(move) for move in moves], config_path)


def read_history(path: str, model: str) -> List[LabelMove]:
    """Label moves of `model` from an audit log, oldest first (a missing log is an empty history)."""
    return [LabelMove(**move) for record in audit_log.records(path, model) for move in record.get("moves", [])]