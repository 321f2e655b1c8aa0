"""A TFMA metric: macro-F1 of the argmax prediction, exactly as the Trainer reports it.

TFMA's own F1Score binarizes each class at a 0.5 probability threshold (not the argmax), and its top_k=1
variant fails under macro averaging in TFMA 0.47, so the gate counts a confusion matrix of
(label, argmax prediction) pairs itself and averages the per-class F1 of the classes that occur.
"""

from __future__ import annotations

from typing import Dict, Iterable, Optional

import apache_beam as beam
import numpy as np
from tensorflow_model_analysis.metrics import metric_types, metric_util
from tensorflow_model_analysis.proto import config_pb2

from models.classifier.metrics import macro_f1_from_confusion

MACRO_F1_NAME = "macro_f1"


class MacroF1(metric_types.Metric):
    """Unweighted mean over classes of F1(label == c, argmax(prediction) == c)."""

    def __init__(self, name: str = MACRO_F1_NAME):
        super().__init__(metric_util.merge_per_key_computations(_macro_f1), name=name)


metric_types.register_metric(MacroF1)


def _macro_f1(name: str, eval_config: Optional[config_pb2.EvalConfig] = None, model_name: str = "",
              output_name: str = "", sub_key: Optional[metric_types.SubKey] = None,
              aggregation_type=None, class_weights=None,
              example_weighted: bool = False) -> metric_types.MetricComputations:
    key = metric_types.MetricKey(name=name, model_name=model_name, output_name=output_name, sub_key=sub_key,
                                 example_weighted=example_weighted)
    return [metric_types.MetricComputation(keys=[key], preprocessors=None,
                                           combiner=_ConfusionCombiner(key, eval_config, example_weighted))]


class _ConfusionCombiner(beam.CombineFn):
    """Accumulates {(label, predicted class): weight} and turns it into macro-F1."""

    def __init__(self, key: metric_types.MetricKey, eval_config, example_weighted: bool):
        self._key, self._eval_config, self._example_weighted = key, eval_config, example_weighted

    def create_accumulator(self) -> Dict[tuple, float]:
        return {}

    def add_input(self, accumulator: Dict[tuple, float], element) -> Dict[tuple, float]:
        for label, prediction, weight in metric_util.to_label_prediction_example_weight(
                element, eval_config=self._eval_config, model_name=self._key.model_name,
                output_name=self._key.output_name, example_weighted=self._example_weighted, flatten=False):
            pair = (int(np.asarray(label).reshape(-1)[0]), int(np.argmax(prediction)))
            accumulator[pair] = accumulator.get(pair, 0.0) + float(metric_util.safe_to_scalar(weight))
        return accumulator

    def merge_accumulators(self, accumulators: Iterable[Dict[tuple, float]]) -> Dict[tuple, float]:
        merged: Dict[tuple, float] = {}
        for accumulator in accumulators:
            for pair, weight in accumulator.items():
                merged[pair] = merged.get(pair, 0.0) + weight
        return merged

    def extract_output(self, accumulator: Dict[tuple, float]) -> Dict[metric_types.MetricKey, float]:
        size = 1 + max((max(pair) for pair in accumulator), default=0)
        confusion = np.zeros((size, size))
        for (label, predicted), weight in accumulator.items():
            confusion[label, predicted] += weight
        return {self._key: macro_f1_from_confusion(confusion)}
