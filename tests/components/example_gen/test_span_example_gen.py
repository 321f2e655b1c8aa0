"""SpanExampleGen: driver (span resolution, window fingerprint, clear errors) and executor through Do()."""

import collections
import os

import pytest
from google.protobuf import message
from tfx.components.example_gen import base_example_gen_executor
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils, standard_artifacts
from tfx.utils import proto_utils

from models import tfrecords
from components.example_gen import records
from components.example_gen.component import SpanDriver, SpanExampleGen
from components.example_gen.executor import Executor
from data.input_format import InputFormatError, RawRow


def _write_span(root, span, rows, name="part.csv"):
    folder = os.path.join(root, f"span-{span}")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "w", encoding="utf-8") as handle:
        handle.write("text,label,lang\n" + "".join(f"{text},{label},{lang}\n" for text, label, lang in rows))


def _resolved(root, window=1, holdout=()):
    properties = SpanExampleGen(data_root=root, span_window=window, holdout_languages=holdout).exec_properties
    as_json = {key: proto_utils.proto_to_json(value) if isinstance(value, message.Message) else value
               for key, value in properties.items()}
    return SpanDriver(None).resolve_exec_properties(as_json, None, None)


def _run(root, tmp_path, window=1, holdout=()):
    output = standard_artifacts.Examples()
    output.uri = str(tmp_path / "out")
    Executor().Do({}, {"examples": [output]}, _resolved(root, window, holdout))
    return {split: list(tfrecords.read_examples(artifact_utils.get_split_uri([output], split)))
            for split in artifact_utils.decode_split_names(output.split_names)}


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


def test_split_index_is_tfxs_hash_rule_on_the_group():
    config = example_gen_pb2.SplitConfig(partition_feature_name="group")
    for i in range(300):
        example = records.row_to_example(RawRow(f"f.csv:{i}", text=f"line {i}", label="food", lang="en",
                                                group=f"g{i % 70}" if i % 2 else ""))
        assert (records.split_index(example, 4, 1, ())
                == base_example_gen_executor._PartitionFn(example, 2, [4, 5], config))


def test_rows_of_one_group_share_a_split_and_held_out_languages_go_to_holdout():
    rows = [RawRow(f"f.csv:{i}", text=f"text {i} in {lang}", label="food", lang=lang, group=f"line-{i}")
            for i in range(100) for lang in ("en", "de", "NL")]
    for holdout in ((), ("nl",)):
        names = records.split_names(holdout)
        by_group = collections.defaultdict(set)
        for row in rows:
            by_group[row.group if row.lang != "NL" or not holdout else "held"].add(
                names[records.split_index(records.row_to_example(row), 4, 1, holdout)])
        assert all(len(splits) == 1 for splits in by_group.values())
        assert {split for splits in by_group.values() for split in splits} == set(names)
    assert by_group["held"] == {"holdout"}


def test_do_splits_by_the_group_column_and_holds_languages_out(tmp_path):
    root = str(tmp_path / "data")
    os.makedirs(os.path.join(root, "span-1"))
    with open(os.path.join(root, "span-1", "rows.jsonl"), "w", encoding="utf-8") as handle:
        for i in range(60):
            for lang in ("en", "de", "nl"):
                handle.write(f'{{"text": "line {i} ({lang})", "label": "food", "lang": "{lang}", "group": "g{i}"}}\n')
    splits = _run(root, tmp_path, holdout=("nl",))
    assert sorted(splits) == ["eval", "holdout", "train"]
    assert {tfrecords.string_value(e, "lang") for e in splits["holdout"]} == {"nl"} and len(splits["holdout"]) == 60
    sides = collections.defaultdict(set)
    for split in ("train", "eval"):
        for example in splits[split]:
            assert tfrecords.string_value(example, "lang") != "nl"
            sides[tfrecords.string_value(example, "group")].add(split)
    assert len(sides) == 60 and all(len(side) == 1 for side in sides.values())
    assert 0 < sum(side == {"eval"} for side in sides.values()) < 30
