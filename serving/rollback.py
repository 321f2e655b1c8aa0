"""Label moves (promote, canary, rollback) as a pure planner plus one small I/O step.

Planner (`serving.label_planner`, TF-free): a ModelServerConfig, the versions on disk and served, and the move in; the configs to apply out, in
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

from typing import Callable, Sequence

from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from serving import config as config_lib, layout
from serving.errors import ConfigError
from serving.label_planner import (ACTIONS, LabelMove, MoveChoice, Step, append_audit, apply_steps, choose_move,
                                   model_entry, plan_label_move, read_history, rollback_target)

__all__ = ["ACTIONS", "LabelMove", "MoveChoice", "Step", "append_audit", "apply_plan", "choose_move", "model_entry",
           "plan_label_move", "read_config", "read_history", "rollback_target", "write_config"]

ModelServerConfig = model_server_config_pb2.ModelServerConfig


def read_config(path: str) -> ModelServerConfig:
    return config_lib.read_model_server_config(path)


def write_config(path: str, config: ModelServerConfig) -> None:
    """Writes a models.config atomically, after checking that the text parses back to the same config."""
    text = config_lib.model_server_config_text(config)
    parsed = text_format.Parse(text, ModelServerConfig())
    if parsed != config:
        raise ConfigError(f"{path}: the config does not survive a text round trip")
    config_lib.served_models(parsed, path)
    layout.replace_file(path, text)


def apply_plan(steps: Sequence[Step], config_path: str, reload: Callable[[ModelServerConfig], None],
               version_state: Callable[[int], tuple], timeout: float = 300.0, poll: float = 0.2) -> None:
    """Applies the steps in order; on a refused step the file goes back to the config the server still runs.

    `reload` sends HandleReloadConfigRequest; `version_state(v)` returns (state name, error message).
    """
    apply_steps(steps, config_path, read_config, write_config, reload, version_state, timeout, poll)
