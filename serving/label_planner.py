"""The label-move planner, free of TensorFlow and of TF Serving's Python packages (`serving.rollback` explains
the steps). Configs are ModelServerConfig messages of whichever class the caller has: the official protos
(`serving.rollback`, the CLI) or `serving.wire_protos` (the gateway, which must not import tensorflow_serving).
"""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from serving import audit_log
from serving.errors import CommandError, DeadlineExceeded, FailedPrecondition, InvalidArgument, ServingError


@dataclasses.dataclass(frozen=True)
class Step:
    """One config to apply; `wait_for` is a version that must be AVAILABLE before the next step."""

    name: str
    config: object  # a ModelServerConfig message (official or serving.wire_protos class)
    wait_for: Optional[int] = None


@dataclasses.dataclass(frozen=True)
class LabelMove:
    """A change of one label, as recorded in the audit log."""

    label: str
    from_version: Optional[int]
    to_version: int


@dataclasses.dataclass(frozen=True)
class MoveChoice:
    """What a promote, canary or rollback does: point `label` at `target`, dropping `drop_labels`."""

    label: str
    target: int
    drop_labels: Tuple[str, ...] = ()


ACTIONS = ("promote", "canary", "rollback")


def choose_move(action: str, labels: Dict[str, int], on_disk: Iterable[int], history: Sequence[LabelMove],
                version: Optional[int] = None, label: str = "stable", model: str = "",
                base_path: str = "") -> MoveChoice:
    """The label and target of an action, as `nlp2prod promote|canary|rollback` choose them.

    promote: `label` (default stable) -> `version`, else the canary, else the newest on disk; promoting stable
    drops the canary label. canary: canary -> `version`, else the newest on disk. rollback: stable ->
    `version`, else where stable pointed before (from `history`), else the newest older version on disk.
    """
    on_disk = sorted(set(on_disk))
    newest = lambda: on_disk[-1] if on_disk else _no_versions(base_path)  # noqa: E731
    if action == "promote":
        canary = labels.get("canary")
        target = version if version is not None else canary if canary is not None else newest()
        return MoveChoice(label, target, ("canary",) if label == "stable" else ())
    if action == "canary":
        return MoveChoice("canary", version if version is not None else newest())
    if action == "rollback":
        if version is not None:
            return MoveChoice("stable", version)
        if labels.get("stable") is None:
            raise CommandError(f"model {model} has no stable label to roll back")
        return MoveChoice("stable", rollback_target(labels["stable"], on_disk, history))
    raise CommandError(f"unknown action {action!r} (actions: {', '.join(ACTIONS)})")


def _no_versions(base_path: str) -> int:
    raise CommandError(f"no versions on disk under {base_path}")


def model_entry(config, model: str):
    """The ModelConfig entry of `model` in a ModelServerConfig; InvalidArgument naming the models otherwise."""
    for entry in config.model_config_list.config:
        if entry.name == model:
            return entry
    names = ", ".join(e.name for e in config.model_config_list.config) or "none"
    raise InvalidArgument(f"model {model!r} is not in the model config (models: {names})")


def plan_label_move(config, model: str, label: str, target: int, on_disk: Iterable[int],
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


def _pinned_versions(entry, served: Sequence[int]) -> set:
    policy = entry.model_version_policy
    if policy.WhichOneof("policy_choice") == "specific":
        return set(policy.specific.versions)
    return set(served)


def _with(config, model: str, versions: Iterable[int], labels: Dict[str, int]):
    updated = type(config)()
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


def apply_steps(steps: Sequence[Step], config_path: str, read: Callable[[str], object],
                write: Callable[[str, object], None], reload: Callable[[object], None],
                version_state: Callable[[int], tuple], timeout: float = 300.0, poll: float = 0.2) -> None:
    """Applies the steps in order; on a refused step the file goes back to the config the server still runs.

    `read`/`write` load and store models.config; `reload` tells the server (HandleReloadConfigRequest, or nothing
    when the server polls the file); `version_state(v)` returns (state name, error message).
    """
    current = read(config_path) if os.path.exists(config_path) else None
    for step in steps:
        write(config_path, step.config)
        try:
            reload(step.config)
            if step.wait_for is not None:
                _wait_available(step.wait_for, version_state, timeout, poll)
        except ServingError:
            if current is not None:
                write(config_path, current)
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
