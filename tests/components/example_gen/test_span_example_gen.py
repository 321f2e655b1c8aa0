"""SpanExampleGen: driver (span resolution, window fingerprint, clear errors) and executor through Do()."""

import collections
import os

import pytest
from google.protobuf import message
from tfx.types import artifact_utils, standard_artifacts
from tfx.utils import proto_utils

from models import tfrecords
from components.example_gen import records
from components.example_gen.component import SpanDriver, SpanExampleGen
from components.example_gen.executor import Executor
from data.input_format import InputFormatError


def _write_span(root, span, rows, name="part.csv"):
    folder = os.path.join(root, f"span-{span}")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "w", encoding="utf-8") as handle:
        handle.write("text,label,lang\n" + "".join(f"{text},{label},{lang}\n" for text, label, lang in rows))


def _resolved(root, window=1):
    properties = SpanExampleGen(data_root=root, span_window=window, train_buckets=4, eval_buckets=1).exec_properties
    as_json = {key: proto_utils.proto_to_json(value) if isinstance(value, message.Message) else value
               for key, value in properties.items()}
    return SpanDriver(None).resolve_exec_properties(as_json, None, None)


def _run(root, tmp_path, window=1):
    output = standard_artifacts.Examples()
    output.uri = str(tmp_path / "out")
    Executor().Do({}, {"examples": [output]}, _resolved(root, window))
    return {split: list(tfrecords.read_examples(artifact_utils.get_split_uri([output], split)))
            for split in ("train", "eval")}


def test_window_spans():
    assert records.window_spans(5, 3, [1, 2, 4, 5, 6]) == [4, 5]
    assert records.window_spans(2, 1, [1, 2]) == [2]


def test_driver_resolves_the_newest_span_and_fingerprints_the_window(tmp_path):
    root = str(tmp_path)
    _write_span(root, 1, [("a", "food", "en")])
    _write_span(root, 2, [("b", "food", "en")])
    single, window = _resolved(root), _resolved(root, window=2)
    assert single["span"] == window["span"] == 2
    assert "span-1" not in single["input_fingerprint"] and "span-1" in window["input_fingerprint"]


def test_driver_explains_missing_or_empty_data(tmp_path):
    with pytest.raises(InputFormatError, match="does not exist"):
        _resolved(str(tmp_path / "nope"))
    with pytest.raises(InputFormatError, match="no span-N"):
        _resolved(str(tmp_path))
    (tmp_path / "span-1").mkdir()
    with pytest.raises(InputFormatError, match="is empty"):
        _resolved(str(tmp_path))


def test_do_reads_csv_and_jsonl_with_problems_kept_and_a_stable_split(tmp_path):
    root = str(tmp_path / "data")
    _write_span(root, 1, [("old row", "food", "en")])
    _write_span(root, 2, [(f"text number {i}", "food", "en") for i in range(200)])
    with open(os.path.join(root, "span-2", "more.jsonl"), "w", encoding="utf-8") as handle:
        handle.write('{"text": "سلام", "label": "greetings", "lang": "fa"}\nnot json\n')
    splits = _run(root, tmp_path)
    sources = collections.Counter(tfrecords.string_value(e, records.SOURCE).rsplit(":", 1)[0]
                                  for examples in splits.values() for e in examples)
    assert sources == {"span-2/part.csv": 200, "span-2/more.jsonl": 2}
    assert 20 < len(splits["eval"]) < 70
    problems = [tfrecords.string_value(e, records.INGEST_PROBLEM) for ex in splits.values() for e in ex]
    assert problems.count("malformed_line") == 1
    again = _run(root, tmp_path / "again")
    assert ({tfrecords.string_value(e, "text") for e in again["eval"]}
            == {tfrecords.string_value(e, "text") for e in splits["eval"]})


def test_do_reads_every_span_of_the_window(tmp_path):
    root = str(tmp_path / "data")
    _write_span(root, 1, [("old row", "food", "en")])
    _write_span(root, 2, [("new row", "food", "en")])
    splits = _run(root, tmp_path, window=2)
    assert sorted(tfrecords.string_value(e, "text") for ex in splits.values() for e in ex) == ["new row", "old row"]
