"""The model gate: TFMA EvalConfig for TFX's Evaluator, sliced by language, and a reader of why it refused.

Thresholds (from config.eval):
  overall        macro-F1 >= min_macro_f1
  every language accuracy >= min_language_accuracy       (slice lang=<each language>)
  vs. baseline   overall macro-F1 and accuracy may drop at most regression_tolerance below the latest blessed
                 model (Resolver(LatestBlessedModelStrategy)); the Evaluator skips these on the first run.
The candidate is evaluated through its `from_examples` signature on raw examples; labels come from its
`transform_features` signature (Transform's own label_id), so the gate reads labels exactly as training did.
"""

from __future__ import annotations

import dataclasses
import os
from typing import List, Optional

import tensorflow_model_analysis as tfma

from models import features
from models.evaluation import macro_f1
from models.classifier import export

ACCURACY = "sparse_categorical_accuracy"
MACRO_F1 = macro_f1.MACRO_F1_NAME
EXAMPLE_COUNT = "example_count"


@dataclasses.dataclass(frozen=True)
class GateFailure:
    """One threshold the candidate missed: metric, slice ("overall" or "lang=xx"), value and bound."""

    metric: str
    slice: str
    value: Optional[float]
    bound: str

    def __str__(self) -> str:
        value = "missing" if self.value is None else f"{self.value:.4f}"
        return f"{self.metric} {self.slice}: {value} {self.bound}"


def build_eval_config(min_macro_f1: float, min_language_accuracy: float,
                      regression_tolerance: float) -> tfma.EvalConfig:
    """The EvalConfig of the model gate (see the module docstring for the thresholds).

    Args:
      min_macro_f1: floor for the overall macro-F1.
      min_language_accuracy: floor for the accuracy of every language slice.
      regression_tolerance: how far overall macro-F1 / accuracy may fall below the baseline's.
    """
    overall, per_language = tfma.SlicingSpec(), tfma.SlicingSpec(feature_keys=[features.LANG])
    no_regression = tfma.GenericChangeThreshold(direction=tfma.MetricDirection.HIGHER_IS_BETTER,
                                                absolute={"value": -regression_tolerance})

    def thresholds(floor: float, slicing_spec: tfma.SlicingSpec):
        return [tfma.PerSliceMetricThreshold(slicing_specs=[slicing_spec], threshold=tfma.MetricThreshold(
                    value_threshold=tfma.GenericValueThreshold(lower_bound={"value": floor}))),
                tfma.PerSliceMetricThreshold(slicing_specs=[overall], threshold=tfma.MetricThreshold(
                    change_threshold=no_regression))]

    metrics_spec = tfma.MetricsSpec(metrics=[
        tfma.MetricConfig(class_name="ExampleCount"),
        tfma.MetricConfig(class_name="SparseCategoricalAccuracy",
                          per_slice_thresholds=thresholds(min_language_accuracy, per_language)),
        tfma.MetricConfig(class_name="MacroF1", module=macro_f1.__name__,
                          per_slice_thresholds=thresholds(min_macro_f1, overall)),
    ])
    model_spec = tfma.ModelSpec(signature_name=export.FROM_EXAMPLES, label_key=features.LABEL_ID,
                                prediction_key=export.PROBABILITIES,
                                preprocessing_function_names=[export.TRANSFORM_FEATURES])
    return tfma.EvalConfig(model_specs=[model_spec], slicing_specs=[overall, per_language],
                           metrics_specs=[metrics_spec])


def read_failures(evaluation_uri: str) -> List[GateFailure]:
    """The thresholds a candidate missed, from the Evaluator's output folder (empty when it was blessed).

    Raises:
      FileNotFoundError: the folder holds no validation result (the Evaluator did not run validation).
    """
    if not os.path.isdir(evaluation_uri):
        raise FileNotFoundError(f"{evaluation_uri}: no Evaluator output there")
    result = tfma.load_validation_result(evaluation_uri)
    failures = []
    for per_slice in result.metric_validations_per_slice:
        slice_name = _slice_name(per_slice)
        for failure in per_slice.failures:
            failures.append(_describe(failure, slice_name))
    return failures


def _slice_name(per_slice) -> str:
    if not per_slice.HasField("slice_key") or not per_slice.slice_key.single_slice_keys:
        return "overall"
    parts = []
    for key in per_slice.slice_key.single_slice_keys:
        value = key.bytes_value.decode("utf-8") if key.HasField("bytes_value") else (
            key.int64_value if key.HasField("int64_value") else key.float_value)
        parts.append(f"{key.column}={value}")
    return ",".join(parts)


def _describe(failure, slice_name: str) -> GateFailure:
    key = failure.metric_key
    name = key.name
    value = failure.metric_value.double_value.value if failure.metric_value.HasField("double_value") else None
    threshold = failure.metric_threshold
    if threshold.HasField("change_threshold"):
        bound = f"change vs. baseline, must be >= {threshold.change_threshold.absolute.value:+.4f}"
        name = f"{name} (vs. baseline)"
    else:
        bound = f"< floor {threshold.value_threshold.lower_bound.value:.4f}"
    if failure.message == "Metric not found.":
        value = None
    return GateFailure(metric=name, slice=slice_name, value=value, bound=bound)
