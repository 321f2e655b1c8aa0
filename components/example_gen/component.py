"""SpanExampleGen: a FileBasedExampleGen over `<data_root>/span-{SPAN}/*` CSV and JSONL files.

Stock TFX machinery does the span bookkeeping: the driver finds the newest span, records it on the
Examples artifact and fingerprints its files for caching; the output is split by a deterministic hash of
`text` (identical texts always land in the same split). On top of that:
  - a rolling window: `span_window` > 1 also reads the spans before the newest (TFX's ExampleGen accepts
    only a static RangeConfig, so the executor reads the window and the driver fingerprints all of it);
  - clear errors for a missing data root or an empty newest span, before Beam starts.
"""

from __future__ import annotations

import os
from typing import Any, Dict

from google.protobuf import any_pb2, struct_pb2
from tfx.components.example_gen import driver, utils
from tfx.components.example_gen.component import FileBasedExampleGen
from tfx.dsl.components.base import executor_spec
from tfx.proto import example_gen_pb2
from tfx.utils import io_utils

from components.example_gen import records
from components.example_gen.executor import SPAN_WINDOW_KEY, Executor, span_window
from models.features import SPLITS, TEXT
from data.input_format import InputFormatError, span_dirs


class SpanDriver(driver.FileBasedDriver):
    """FileBasedDriver that explains a missing or empty data root and fingerprints the whole window."""

    def resolve_exec_properties(self, exec_properties: Dict[str, Any], pipeline_info, component_info):
        input_base = exec_properties["input_base"]
        spans = span_dirs(input_base) if "://" not in input_base else []
        if spans and not any(os.scandir(os.path.join(input_base, f"span-{spans[-1]}"))):
            raise InputFormatError(f"the newest span folder {input_base}/span-{spans[-1]} is empty")
        exec_properties = super().resolve_exec_properties(exec_properties, pipeline_info, component_info)
        latest, window = exec_properties[utils.SPAN_PROPERTY_NAME], span_window(exec_properties)
        earlier = records.window_spans(latest - 1, window - 1, spans) if window > 1 else []
        fingerprints = [io_utils.generate_fingerprint(f"span-{span}", os.path.join(input_base, records.span_pattern(span)))
                        for span in earlier]
        exec_properties[utils.FINGERPRINT_PROPERTY_NAME] = "\n".join(
            fingerprints + [exec_properties[utils.FINGERPRINT_PROPERTY_NAME]])
        return exec_properties


def _custom_config(window: int) -> example_gen_pb2.CustomConfig:
    values = struct_pb2.Struct()
    values.update({SPAN_WINDOW_KEY: window})
    packed = any_pb2.Any()
    packed.Pack(values)
    return example_gen_pb2.CustomConfig(custom_config=packed)


class SpanExampleGen(FileBasedExampleGen):
    """Reads `<data_root>/span-N/*.csv|*.jsonl` (newest span, or a rolling window) into split tf.Examples.

    Outputs `examples` (Examples, splits train/eval, artifact property `span` = the newest span read).
    """

    DRIVER_CLASS = SpanDriver

    def __init__(self, data_root: str, span_window: int, train_buckets: int, eval_buckets: int):
        """Builds the component.

        Args:
          data_root: folder holding `span-N/` folders.
          span_window: how many of the newest spans are read together (1 = newest only).
          train_buckets: hash buckets of the train split.
          eval_buckets: hash buckets of the eval split.
        """
        if span_window < 1 or train_buckets < 1 or eval_buckets < 1:
            raise ValueError("span_window, train_buckets and eval_buckets must all be at least 1")
        splits = [example_gen_pb2.SplitConfig.Split(name=name, hash_buckets=buckets)
                  for name, buckets in zip(SPLITS, (train_buckets, eval_buckets))]
        super().__init__(
            input_base=data_root,
            input_config=example_gen_pb2.Input(
                splits=[example_gen_pb2.Input.Split(name="single_split", pattern=records.SPAN_PATTERN)]),
            output_config=example_gen_pb2.Output(
                split_config=example_gen_pb2.SplitConfig(splits=splits, partition_feature_name=TEXT)),
            custom_config=_custom_config(span_window),
            custom_executor_spec=executor_spec.BeamExecutorSpec(Executor))
