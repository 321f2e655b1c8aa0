"""SpanExampleGen executor: reads every CSV / JSONL file of the spans in the window into tf.Examples."""

from __future__ import annotations

import os
from typing import Any, Dict, List

import apache_beam as beam
import tensorflow as tf
from google.protobuf import struct_pb2
from tfx.components.example_gen import base_example_gen_executor
from tfx.proto import example_gen_pb2
from tfx.utils import proto_utils

from components.example_gen import records
from data.input_format import InputFormatError

SPAN_WINDOW_KEY = "span_window"


def span_window(exec_properties: Dict[str, Any]) -> int:
    """The rolling window (number of spans) stored in the component's custom_config."""
    raw = exec_properties.get("custom_config")
    if not raw:
        return 1
    config = example_gen_pb2.CustomConfig()
    if isinstance(raw, str):
        proto_utils.json_to_proto(raw, config)
    else:
        config.CopyFrom(raw)
    if not config.HasField("custom_config"):
        return 1
    values = struct_pb2.Struct()
    config.custom_config.Unpack(values)
    return int(values[SPAN_WINDOW_KEY]) if SPAN_WINDOW_KEY in values else 1


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


class Executor(base_example_gen_executor.BaseExampleGenExecutor):
    """Turns the span window's files into tf.Examples; unreadable lines become examples with a problem."""

    def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
        return _ReadSpanFiles
