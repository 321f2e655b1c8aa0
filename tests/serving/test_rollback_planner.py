"""The label-move planner on plain lists, and its small I/O step (atomic config write, audit log)."""

import json

import pytest
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from serving import rollback
from serving.errors import FailedPrecondition, InvalidArgument, ServingError


def config(policy="latest { num_versions: 1 }", labels=None):
    labels_text = " ".join(f'version_labels {{ key: "{k}" value: {v} }}' for k, v in (labels or {}).items())
    return text_format.Parse(
        f'model_config_list {{ config {{ name: "m" base_path: "/models/m" model_platform: "tensorflow" '
        f'model_version_policy {{ {policy} }} {labels_text} }} }}', model_server_config_pb2.ModelServerConfig())


def summary(steps):
    out = []
    for step in steps:
        entry = step.config.model_config_list.config[0]
        out.append((step.name, sorted(entry.model_version_policy.specific.versions), dict(entry.version_labels),
                    step.wait_for))
    return out


def test_first_promotion_from_a_latest_policy_loads_labels_then_prunes():
    steps = rollback.plan_label_move(config(), "m", "stable", 2, on_disk=[1, 2], served=[1])
    assert summary(steps) == [("load", [1, 2], {}, 2), ("label", [1, 2], {"stable": 2}, None),
                              ("prune", [2], {"stable": 2}, None)]


def test_promotion_keeps_the_previous_stable_and_prunes_the_rest():
    current = config("specific { versions: 1 versions: 2 versions: 3 }", {"stable": 2, "canary": 3})
    steps = rollback.plan_label_move(current, "m", "stable", 3, on_disk=[1, 2, 3], served=[1, 2, 3],
                                     drop_labels=("canary",))
    assert summary(steps) == [("label", [1, 2, 3], {"stable": 3}, None), ("prune", [2, 3], {"stable": 3}, None)]


def test_rollback_to_an_unloaded_version_takes_three_steps():
    current = config("specific { versions: 3 }", {"stable": 3})
    steps = rollback.plan_label_move(current, "m", "stable", 1, on_disk=[1, 2, 3], served=[3])
    assert summary(steps) == [("load", [1, 3], {"stable": 3}, 1), ("label", [1, 3], {"stable": 1}, None)]


def test_canary_beside_stable_and_no_op_moves():
    current = config("specific { versions: 1 }", {"stable": 1})
    steps = rollback.plan_label_move(current, "m", "canary", 2, on_disk=[1, 2], served=[1])
    assert summary(steps)[-1] == ("label", [1, 2], {"stable": 1, "canary": 2}, None)
    assert rollback.plan_label_move(current, "m", "stable", 1, on_disk=[1, 2], served=[1]) == []


def test_planner_refuses_unknown_versions_and_models():
    with pytest.raises(InvalidArgument, match="version 9 of model m is not on disk"):
        rollback.plan_label_move(config(), "m", "stable", 9, on_disk=[1, 2], served=[1])
    with pytest.raises(InvalidArgument, match="model 'x' is not in the model config"):
        rollback.plan_label_move(config(), "x", "stable", 1, on_disk=[1], served=[1])


def test_rollback_target_prefers_the_audit_history():
    history = [rollback.LabelMove("stable", 1, 3), rollback.LabelMove("canary", None, 4)]
    assert rollback.rollback_target(3, on_disk=[1, 2, 3, 4], history=history) == 1
    assert rollback.rollback_target(3, on_disk=[1, 2, 3, 4], history=[]) == 2
    with pytest.raises(FailedPrecondition, match="no version older than 1"):
        rollback.rollback_target(1, on_disk=[1, 2], history=[])


def test_write_config_is_atomic_and_parsed_back(tmp_path):
    path = str(tmp_path / "models.config")
    new = config("specific { versions: 1 }", {"stable": 1})
    rollback.write_config(path, new)
    assert rollback.read_config(path) == new
    assert [p.name for p in tmp_path.iterdir()] == ["models.config"]  # no staging file left behind


def test_a_refused_step_restores_the_previous_file(tmp_path):
    path = str(tmp_path / "models.config")
    before = config()
    rollback.write_config(path, before)
    steps = rollback.plan_label_move(before, "m", "stable", 2, on_disk=[1, 2], served=[1])

    def refuse(_):
        raise FailedPrecondition("not loaded")

    with pytest.raises(ServingError):
        rollback.apply_plan(steps, path, refuse, lambda v: ("AVAILABLE", ""))
    assert rollback.read_config(path) == before


def test_a_version_that_fails_to_load_stops_the_plan(tmp_path):
    path = str(tmp_path / "models.config")
    rollback.write_config(path, config())
    steps = rollback.plan_label_move(config(), "m", "stable", 2, on_disk=[1, 2], served=[1])
    applied = []
    with pytest.raises(FailedPrecondition, match="version 2 failed to load: bad graph"):
        rollback.apply_plan(steps, path, applied.append, lambda v: ("END", "bad graph"), timeout=5)
    assert len(applied) == 1 and rollback.read_config(path) == config()


def test_audit_log_round_trip(tmp_path):
    log = str(tmp_path / "audit.jsonl")
    rollback.append_audit(log, "alice", "promote", "m", [rollback.LabelMove("stable", 1, 2)], "models.config")
    rollback.append_audit(log, "bob", "promote", "other", [rollback.LabelMove("stable", 5, 6)], "models.config")
    record = json.loads(open(log).readline())
    assert record["user"] == "alice" and record["action"] == "promote" and record["time"].endswith("+00:00")
    assert rollback.read_history(log, "m") == [rollback.LabelMove("stable", 1, 2)]
