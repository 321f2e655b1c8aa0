"""DataGate through Do() on hand-built statistics, anomalies and schema: it stops the run, naming why."""

import json
import os

import pandas as pd
import pytest
import tensorflow_data_validation as tfdv
from tfx.types import artifact_utils, standard_artifacts
from tfx.utils import io_utils

from components.curated_schema.schema import curated_schema
from components.data_gate import gate
from components.data_gate.component import DataGateReport
from components.data_gate.executor import Executor, previous_span_statistics

LABELS, LANGUAGES = ["food", "money"], ["en", "fa"]
SCHEMA = curated_schema(LABELS, LANGUAGES, max_label_drift=0.25, max_language_drift=0.25)


def _frame(labels, langs):
    return pd.DataFrame({"text": [f"t{i}" for i in range(len(labels))], "label": labels, "lang": langs})


def _balanced(n=8):
    return _frame(["food", "money"] * n, ["en", "fa"] * n)


def _artifact(kind, uri, span=None, splits=("train", "eval")):
    artifact = kind()
    artifact.uri = uri
    if splits:
        artifact.split_names = artifact_utils.encode_split_names(list(splits))
    if span is not None:
        artifact.span = span
    os.makedirs(uri, exist_ok=True)
    return artifact


def _statistics(root, name, frames, span, artifact_id=1):
    stats = _artifact(standard_artifacts.ExampleStatistics, os.path.join(root, name), span=span)
    stats.id = artifact_id
    for split, frame in frames.items():
        folder = os.path.join(stats.uri, f"Split-{split}")
        os.makedirs(folder)
        io_utils.write_bytes_file(os.path.join(folder, "FeatureStats.pb"),
                                  tfdv.generate_statistics_from_dataframe(frame).SerializeToString())
    return stats


def _run(root, frames, previous=()):
    statistics = _statistics(root, "stats", frames, span=2, artifact_id=10)
    anomalies = _artifact(standard_artifacts.ExampleAnomalies, os.path.join(root, "anomalies"))
    for split in frames:
        folder = os.path.join(anomalies.uri, f"Split-{split}")
        os.makedirs(folder)
        found = tfdv.validate_statistics(tfdv.load_stats_binary(
            os.path.join(statistics.uri, f"Split-{split}", "FeatureStats.pb")), SCHEMA)
        io_utils.write_bytes_file(os.path.join(folder, "SchemaDiff.pb"), found.SerializeToString())
    schema = _artifact(standard_artifacts.Schema, os.path.join(root, "schema"), splits=None)
    io_utils.write_pbtxt_file(os.path.join(schema.uri, "schema.pbtxt"), SCHEMA)
    gated = _artifact(standard_artifacts.Schema, os.path.join(root, "gated"), splits=None)
    report = _artifact(DataGateReport, os.path.join(root, "report"), splits=None)
    inputs = {"statistics": [statistics], "anomalies": [anomalies], "schema": [schema],
              "previous_statistics": list(previous)}
    try:
        Executor().Do(inputs, {"gated_schema": [gated], "report": [report]},
                      {"languages": json.dumps(LANGUAGES), "labels": json.dumps(LABELS)})
    finally:
        with open(os.path.join(report.uri, "report.json"), encoding="utf-8") as handle:
            written = json.load(handle)
    return written, os.path.exists(os.path.join(gated.uri, "schema.pbtxt"))


def test_clean_first_span_passes_without_drift_check(tmp_path):
    report, gated = _run(str(tmp_path), {"train": _balanced(), "eval": _balanced(2)})
    assert gated and report["problems"] == [] and "not checked" in report["drift"]
    assert report["counts"]["eval"]["label"] == {"food": 2.0, "money": 2.0}


def test_schema_anomaly_stops_the_run_naming_the_feature(tmp_path):
    frames = {"train": _frame(["food", "money", "cars"] * 4, ["en", "fa", "en"] * 4), "eval": _balanced(2)}
    with pytest.raises(gate.DataGateError, match=r"split 'train', feature 'label'.*[Uu]nexpected"):
        _run(str(tmp_path), frames)
    assert not os.path.exists(tmp_path / "gated" / "schema.pbtxt")


def test_a_label_missing_from_a_split_stops_the_run(tmp_path):
    frames = {"train": _balanced(), "eval": _frame(["food"] * 4, ["en", "fa"] * 2)}
    with pytest.raises(gate.DataGateError, match="'label' has no rows with money in split 'eval'"):
        _run(str(tmp_path), frames)


def test_drift_against_the_previous_span(tmp_path):
    root = str(tmp_path)
    previous = _statistics(root, "previous", {"train": _balanced()}, span=1, artifact_id=3)
    same_span = _statistics(root, "rerun", {"train": _frame(["food"] * 16, ["en"] * 16)}, span=2, artifact_id=9)
    shifted = {"train": _frame(["food"] * 14 + ["money"] * 2, ["en", "fa"] * 8), "eval": _balanced(2)}
    with pytest.raises(gate.DataGateError, match=r"'label' drifted by 0\.375 .* between span 1 and span 2"):
        _run(os.path.join(root, "a"), shifted, previous=[previous, same_span])
    report, gated = _run(os.path.join(root, "b"), {"train": _balanced(), "eval": _balanced(2)},
                         previous=[previous, same_span])
    assert gated and report["previous_span"] == 1
    assert [(d["feature"], d["distance"]) for d in report["drift"]] == [("label", 0.0), ("lang", 0.0)]


def test_previous_span_statistics_picks_the_newest_earlier_span():
    def stats(span, artifact_id):
        artifact = standard_artifacts.ExampleStatistics()
        artifact.span, artifact.id = span, artifact_id
        return artifact
    candidates = [stats(1, 4), stats(2, 5), stats(1, 7), stats(3, 8)]
    assert previous_span_statistics(candidates, 3).id == 5
    assert previous_span_statistics(candidates, 2).id == 7
    assert previous_span_statistics(candidates, 1) is None


def test_held_out_languages_are_expected_in_the_holdout_split_only():
    def stats(frame):
        return tfdv.generate_statistics_from_dataframe(frame).datasets[0]

    by_split = {"train": stats(_frame(["food", "money"] * 4, ["en"] * 8)),
                "eval": stats(_frame(["food", "money"], ["en"] * 2)),
                "holdout": stats(_frame(["food"] * 3, ["fa"] * 3))}
    expected = {split: gate.expected_values(split, LANGUAGES, LABELS, ["FA"]) for split in by_split}
    assert expected["holdout"] == {"lang": ["fa"]}
    assert gate.coverage_problems(by_split, expected) == []
    by_split["holdout"] = stats(_frame(["food"] * 3, ["en"] * 3))
    assert gate.coverage_problems(by_split, expected) == [
        "feature 'lang' has no rows with fa in split 'holdout' after cleaning (every configured value must be "
        "in every split)"]
