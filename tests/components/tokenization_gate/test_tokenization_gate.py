"""TokenizationGate: per-language rates, and Do() on hand-built transformed examples."""

import json
import os

import pytest
import tensorflow as tf
from tfx.types import artifact_utils, standard_artifacts

from models import tfrecords
from components.tokenization_gate.component import TokenizationReport
from components.tokenization_gate.executor import Executor, TokenizationGateError
from components.tokenization_gate.tokenization import tokenization_problems, tokenization_stats


def _example(lang, tokens, unknown, truncated):
    feature = {"lang": tf.train.Feature(bytes_list=tf.train.BytesList(value=[lang.encode()]))}
    for key, value in (("token_count", tokens), ("unknown_count", unknown), ("truncated", truncated)):
        feature[key] = tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))
    return tf.train.Example(features=tf.train.Features(feature=feature))


def test_rates_per_language():
    stats = tokenization_stats([("en", 10, 0, 0), ("en", 30, 1, 1), ("fa", 5, 5, 0)])
    assert stats["en"]["unknown_rate"] == pytest.approx(1 / 40) and stats["en"]["truncation_rate"] == 0.5
    problems = tokenization_problems(stats, max_unknown_rate=0.05, max_truncation_rate=0.4, min_tokens=1)
    assert problems[0].startswith("language 'en': truncation rate 0.500")
    assert problems[1].startswith("language 'fa': <unk> rate 1.000") and len(problems) == 2
    assert tokenization_problems(tokenization_stats([("ja", 0, 0, 0)]), 1, 1, min_tokens=1) == [
        "language 'ja': a row has 0 tokens, fewer than 1"]


def _run(tmp_path, rows):
    examples = standard_artifacts.Examples()
    examples.uri = str(tmp_path / "transformed")
    examples.split_names = artifact_utils.encode_split_names(["train", "eval"])
    tfrecords.write_examples(os.path.join(examples.uri, "Split-train"), [_example(*r) for r in rows])
    tfrecords.write_examples(os.path.join(examples.uri, "Split-eval"), [_example(*rows[0])])
    graph, gated, report = (standard_artifacts.TransformGraph(), standard_artifacts.TransformGraph(),
                            TokenizationReport())
    for artifact, name in ((graph, "graph"), (gated, "gated"), (report, "report")):
        artifact.uri = str(tmp_path / name)
        os.makedirs(artifact.uri)
    (tmp_path / "graph" / "transform_fn").mkdir()
    (tmp_path / "graph" / "transform_fn" / "saved_model.pb").write_bytes(b"graph")
    Executor().Do({"transformed_examples": [examples], "transform_graph": [graph]},
                  {"gated_transform_graph": [gated], "report": [report]},
                  {"max_unknown_rate": 0.05, "max_truncation_rate": 0.2, "min_tokens": 1})
    return tmp_path


def test_do_passes_the_graph_on_when_within_limits(tmp_path):
    _run(tmp_path, [("en", 10, 0, 0), ("uk", 12, 0, 0)])
    assert (tmp_path / "gated" / "transform_fn" / "saved_model.pb").read_bytes() == b"graph"
    report = json.loads((tmp_path / "report" / "tokenization.json").read_text())
    assert report["per_language"]["en"]["rows"] == 2 and report["problems"] == []


def test_do_stops_the_run_over_a_limit(tmp_path):
    with pytest.raises(TokenizationGateError, match="language 'ko': <unk> rate"):
        _run(tmp_path, [("en", 10, 0, 0), ("ko", 10, 3, 0)])
    assert not (tmp_path / "gated" / "transform_fn").exists()
