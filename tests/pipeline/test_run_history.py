"""The run history file: one JSON line per attempt, read back in order, bad lines named."""

import pytest

from pipeline.run_history import RunRecord, append_record, read_history


def test_records_round_trip_in_order(tmp_path):
    path = str(tmp_path / "home" / "run_history.jsonl")
    first = RunRecord(run_id="r1", outcome="pushed", started_at="t1", version=3, spans=[2])
    second = RunRecord(run_id="r2", outcome="refused", started_at="t2", reasons=["Evaluator: not blessed"])
    append_record(path, first)
    append_record(path, second)
    assert read_history(path) == [first, second]
    assert "pushed version 3" in first.summary() and "Evaluator: not blessed" in second.summary()


def test_missing_history_is_empty(tmp_path):
    assert read_history(str(tmp_path / "none.jsonl")) == []


def test_a_damaged_line_is_named_by_file_and_line(tmp_path):
    path = tmp_path / "run_history.jsonl"
    append_record(str(path), RunRecord(run_id="r1", outcome="failed", started_at="t", error="boom"))
    with open(path, "a") as handle:
        handle.write("{not json\n")
    with pytest.raises(ValueError, match=r"run_history.jsonl:2: not a run record"):
        read_history(str(path))


def test_unknown_outcome_is_rejected():
    with pytest.raises(ValueError, match="unknown run outcome 'done'"):
        RunRecord(run_id="r", outcome="done", started_at="t")
