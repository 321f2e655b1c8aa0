"""TextCleaner executor: artifacts <-> rows; the rules live in cleaning.py and normalisation.py."""

from __future__ import annotations

import json
import logging
import os
from typing import Any, Dict, List

import tensorflow as tf
from tfx import types
from tfx.components.util import examples_utils
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils

from models import artifact_reports
from models import tfrecords
from components.example_gen.records import INGEST_DETAIL, INGEST_PROBLEM, SOURCE
from models.features import LABEL, LANG, TEXT
from components.text_cleaner import summary as cleaning_summary
from components.text_cleaner.cleaning import CleaningPolicy, Row, clean_rows
from components.text_cleaner.language_id import LanguageIdentifier


def _rows(examples: types.Artifact) -> List[Row]:
    rows = []
    for split in artifact_utils.decode_split_names(examples.split_names):
        for example in tfrecords.read_examples(artifact_utils.get_split_uri([examples], split)):
            values = {key: tfrecords.string_value(example, key) for key in (TEXT, LABEL, LANG, SOURCE)}
            rows.append(Row(split=split, source=values[SOURCE], text=values[TEXT], label=values[LABEL],
                            lang=values[LANG], problem=tfrecords.string_value(example, INGEST_PROBLEM) or None,
                            detail=tfrecords.string_value(example, INGEST_DETAIL)))
    return rows


def _example(row: Row) -> tf.train.Example:
    return tfrecords.text_example({TEXT: row.cleaned, LABEL: row.label, LANG: row.lang})


def _write_jsonl(path: str, records) -> None:
    with tf.io.gfile.GFile(path, "w") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


class Executor(base_executor.BaseExecutor):
    """Reads every split, cleans all rows together (global de-duplication), writes kept rows per split."""

    def Do(self, input_dict: Dict[str, List[types.Artifact]], output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]) -> None:
        source = artifact_utils.get_single_instance(input_dict["examples"])
        cleaned = artifact_utils.get_single_instance(output_dict["cleaned_examples"])
        quarantine = artifact_utils.get_single_instance(output_dict["quarantine"])
        languages = tuple(json.loads(exec_properties["languages"]))
        policy = CleaningPolicy(languages=languages, labels=tuple(json.loads(exec_properties["labels"])),
                                min_chars=int(exec_properties["min_chars"]), max_chars=int(exec_properties["max_chars"]))
        identifier = LanguageIdentifier(languages, float(exec_properties["language_mismatch_confidence"]))
        rows = clean_rows(_rows(source), policy, identifier)
        splits = artifact_utils.decode_split_names(source.split_names)
        cleaned.split_names = source.split_names
        for split in splits:
            tfrecords.write_examples(artifact_utils.get_split_uri([cleaned], split),
                                     (_example(row) for row in rows if row.split == split and row.reason is None))
        # ExampleGen records the span as a custom property; StatisticsGen and the DataGate read the property.
        cleaned.span = source.span or source.get_int_custom_property("span")
        examples_utils.set_payload_format(cleaned, examples_utils.get_payload_format(source))
        _write_jsonl(os.path.join(quarantine.uri, cleaning_summary.QUARANTINE_FILE),
                     (row.quarantine_record() for row in rows if row.reason))
        _write_jsonl(os.path.join(quarantine.uri, cleaning_summary.CHANGES_FILE),
                     (row.change_record() for row in rows if row.reason is None and row.changes))
        summary = cleaning_summary.summarise(rows, splits)
        artifact_reports.write(quarantine.uri, artifact_reports.CLEANING_SUMMARY, summary)
        quarantine.set_int_custom_property("quarantined", sum(row.reason is not None for row in rows))
        logging.info("TextCleaner summary:\n%s", cleaning_summary.render_summary(summary))
