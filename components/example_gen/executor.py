"""SpanExampleGen executor: reads every CSV / JSONL file of the spans in the window into split tf.Examples.

The split is by `group` (records.split_index), with the rows of held-out languages in their own `holdout`
split; both settings travel in the component's custom_config.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Tuple

import apache_beam as beam
import tensorflow as tf
from google.protobuf import struct_pb2
from tfx.components.example_gen import base_example_gen_executor
from tfx.proto import example_gen_pb2
from tfx.types import standard_component_specs
from tfx.utils import proto_utils

from components.example_gen import records
from data.input_format import InputFormatError

SPAN_WINDOW_KEY = "span_window"
HOLDOUT_LANGUAGES_KEY = "holdout_languages"


def _custom_values(exec_properties: Dict[str, Any]) -> struct_pb2.Struct:
    values = struct_pb2.Struct()
    raw = exec_properties.get("custom_config")
    if not raw:
        return values
    config = example_gen_pb2.CustomConfig()
    if isinstance(raw, str):
        proto_utils.json_to_proto(raw, config)
    else:
        config.CopyFrom(raw)
    if config.HasField("custom_config"):
        config.custom_config.Unpack(values)
    return values


def span_window(exec_properties: Dict[str, Any]) -> int:
    """The rolling window (number of spans) stored in the component's custom_config."""
    values = _custom_values(exec_properties)
    return int(values[SPAN_WINDOW_KEY]) if SPAN_WINDOW_KEY in values else 1


def holdout_languages(exec_properties: Dict[str, Any]) -> Tuple[str, ...]:
    """The held-out languages stored in the component's custom_config (none when absent)."""
    values = _custom_values(exec_properties)
    return tuple(values[HOLDOUT_LANGUAGES_KEY]) if HOLDOUT_LANGUAGES_KEY in values else ()


def _train_eval_buckets(exec_properties: Dict[str, Any]) -> Tuple[int, int]:
    output_config = example_gen_pb2.Output()
    proto_utils.json_to_proto(exec_properties[standard_component_specs.OUTPUT_CONFIG_KEY], output_config)
    splits = {split.name: split.hash_buckets for split in output_config.split_config.splits}
    return splits["train"], splits["eval"]


def window_files(input_base: str, span: int, window: int) -> List[str]:
    """All files of the spans in the window, sorted; raises when the newest span has none."""
    present = [s for s in range(span - window + 1, span + 1)
               if tf.io.gfile.isdir(os.path.join(input_base, f"span-{s}"))]
    files = []
    for s in records.window_spans(span, window, present):
        files += sorted(f for f in tf.io.gfile.glob(os.path.join(input_base, records.span_pattern(s)))
                        if not tf.io.gfile.isdir(f))
    if not files:
        raise InputFormatError(f"no files in {os.path.join(input_base, f'span-{span}')}")
    return files


@beam.ptransform_fn
@beam.typehints.with_input_types(beam.Pipeline)
@beam.typehints.with_output_types(tf.train.Example)
def _ReadSpanFiles(pipeline: beam.Pipeline, exec_properties: Dict[str, Any], split_pattern: str):
    del split_pattern  # the window is derived from the resolved span, not from one pattern
    input_base = exec_properties["input_base"]
    files = window_files(input_base, int(exec_properties.get("span") or 0), span_window(exec_properties))
    return (pipeline
            | "ListFiles" >> beam.Create(files)
            | "ReadRows" >> beam.FlatMap(records.file_examples, input_base))


def _partition(example: tf.train.Example, num_partitions: int, train_buckets: int, eval_buckets: int,
               held_out: Tuple[str, ...]) -> int:
    del num_partitions  # fixed by split_names(held_out)
    return records.split_index(example, train_buckets, eval_buckets, held_out)


class Executor(base_example_gen_executor.BaseExampleGenExecutor):
    """Turns the span window's files into tf.Examples; unreadable lines become examples with a problem."""

    def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
        return _ReadSpanFiles

    def GenerateExamplesByBeam(self, pipeline: beam.Pipeline,
                               exec_properties: Dict[str, Any]) -> Dict[str, beam.pvalue.PCollection]:
        """Reads the window and partitions it by group (train/eval) and language (holdout)."""
        train_buckets, eval_buckets = _train_eval_buckets(exec_properties)
        held_out = holdout_languages(exec_properties)
        names = records.split_names(held_out)
        parts = (pipeline
                 | "InputToRecord" >> _ReadSpanFiles(exec_properties, "")  # pylint: disable=no-value-for-parameter
                 | "SplitData" >> beam.Partition(_partition, len(names), train_buckets, eval_buckets, held_out))
        return dict(zip(names, parts))
