"""TextCleaner executor through Do() on hand-built Examples artifacts in a temp dir."""

import json
import os

from tfx.types import artifact_utils, standard_artifacts

from models import tfrecords
from components.example_gen.records import row_to_example
from components.text_cleaner.component import Quarantine
from components.text_cleaner.executor import Executor
from components.text_cleaner.summary import load_summary
from data.input_format import RawRow


def _examples_artifact(root, rows_by_split):
    artifact = standard_artifacts.Examples()
    artifact.uri = os.path.join(root, "examples")
    artifact.split_names = artifact_utils.encode_split_names(list(rows_by_split))
    artifact.set_int_custom_property("span", 3)
    for split, rows in rows_by_split.items():
        tfrecords.write_examples(os.path.join(artifact.uri, f"Split-{split}"), [row_to_example(r) for r in rows])
    return artifact


def _output(artifact_type, root, name):
    artifact = artifact_type()
    artifact.uri = os.path.join(root, name)
    os.makedirs(artifact.uri)
    return artifact


def test_do_writes_cleaned_splits_quarantine_and_summary(tmp_path):
    root = str(tmp_path)
    source = _examples_artifact(root, {
        "train": [RawRow("span-3/a.csv:2", "Hello <b>there</b>", "greetings", "en"),
                  RawRow("span-3/a.csv:3", "Привіт, друже", "greetings", "uk"),
                  RawRow("span-3/a.csv:4", "???", "cars", "en"),
                  RawRow("span-3/b.csv:0", problem="empty_file", detail="the file holds no data rows")],
        "eval": [RawRow("span-3/a.csv:5", "hello there!", "greetings", "en"),
                 RawRow("span-3/a.csv:6", "سلام علي", "greetings", "fa")],
    })
    cleaned, quarantine = _output(standard_artifacts.Examples, root, "cleaned"), _output(Quarantine, root, "q")
    Executor().Do({"examples": [source]}, {"cleaned_examples": [cleaned], "quarantine": [quarantine]}, {
        "languages": json.dumps(["en", "uk", "fa"]), "labels": json.dumps(["greetings", "food"]),
        "min_chars": 2, "max_chars": 100, "language_mismatch_confidence": 0.9})

    texts = {split: [tfrecords.string_value(e, "text") for e in
                     tfrecords.read_examples(artifact_utils.get_split_uri([cleaned], split))]
             for split in ("train", "eval")}
    assert texts == {"train": ["Hello there", "Привіт, друже"], "eval": ["سلام علی"]}
    assert cleaned.span == 3 and artifact_utils.decode_split_names(cleaned.split_names) == ["train", "eval"]
    example = next(tfrecords.read_examples(artifact_utils.get_split_uri([cleaned], "train")))
    assert sorted(example.features.feature) == ["label", "lang", "text"]

    with open(os.path.join(quarantine.uri, "quarantine.jsonl"), encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle]
    assert [(r["row"], r["reason"], r["split"]) for r in records] == [
        ("span-3/a.csv:4", "unknown_label", "train"), ("span-3/a.csv:5", "near_duplicate", "eval"),
        ("span-3/b.csv:0", "empty_file", "train")]
    summary = load_summary(quarantine.uri)
    assert summary["rows_in"] == {"": 1, "en": 3, "fa": 1, "uk": 1}
    assert summary["rows_out"] == {"en": 1, "fa": 1, "uk": 1}
    assert summary["changed"] == {"html": {"en": 1}, "unicode": {"fa": 1}}
    with open(os.path.join(quarantine.uri, "changes.jsonl"), encoding="utf-8") as handle:
        changes = [json.loads(line) for line in handle]
    assert {c["row"]: c["after"] for c in changes} == {"span-3/a.csv:2": "Hello there", "span-3/a.csv:6": "سلام علی"}
