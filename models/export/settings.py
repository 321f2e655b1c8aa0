"""Which artefacts the exporter writes and the gate each must pass: a plain dataclass with no TensorFlow import.

`pipeline.configs.ExportConfig` takes its defaults from here (one set of numbers).
"""

from __future__ import annotations

import dataclasses
from typing import List, Tuple

from models.value_ranges import Rule, refuse_out_of_range

ALL_FORMATS: Tuple[str, ...] = ("onnx_fp32", "onnx_int8", "tflite_fp16", "tflite_int8")


@dataclasses.dataclass(frozen=True)
class ExportSettings:
    """Formats and gate thresholds (agreements and macro-F1 on a 0–1 scale: 0.01 = one point)."""

    formats: Tuple[str, ...] = ALL_FORMATS
    onnx_opset: int = 17
    # Float artefacts (onnx_fp32, tflite_fp16): every gate text's top-1 equals the SavedModel's, and no class
    # probability moves more than this.
    float_min_agreement: float = 1.0
    float_max_prob_delta: float = 1e-3
    # int8 artefacts, per language of each gate set: top-1 agreement at least this, and macro-F1 (eval split) or
    # accuracy (held-out-language split, out-of-corpus set) at most this below the SavedModel's.
    int8_min_agreement: float = 0.98
    int8_max_macro_f1_drop: float = 0.01
    # int8 ONNX recipes (converters.INT8_RECIPES) tried in this order; the first that passes the gate ships.
    int8_recipes: Tuple[str, ...] = ("per_token", "blockwise")
    # SmoothQuant's migration strength for the per_token recipe (0: no smoothing), and the training texts its
    # activation ranges are read from (never the texts the gate measures).
    int8_smooth_alpha: float = 0.75
    # Share of each projection input's channels the per_token recipe keeps in float: those with the largest
    # activations on the calibration texts (0: none), so that ordinary channels set the int8 scales.
    int8_outlier_share: float = 0.02
    calibration_texts: int = 320
    # Texts per language of each gate set the gate runs on (0: all of them).
    max_texts_per_language: int = 0
    batch_size: int = 32
    threads: int = 2

    def __post_init__(self):
        refuse_out_of_range(self, "export", _RULES)


def _unit(value) -> bool:
    return 0.0 <= value <= 1.0


# What an export would only trip over once it runs.
_RULES: List[Rule] = [
    ("float_min_agreement", _unit, "in [0, 1]"),
    ("float_max_prob_delta", lambda v: v >= 0, ">= 0"),
    ("int8_min_agreement", _unit, "in [0, 1]"),
    ("int8_max_macro_f1_drop", lambda v: v >= 0, ">= 0 (0.01 = one point)"),
    ("int8_smooth_alpha", _unit, "in [0, 1] (0: no SmoothQuant)"),
    ("int8_outlier_share", lambda v: 0.0 <= v < 0.5, "in [0, 0.5) (0: no outlier split)"),
    ("calibration_texts", lambda v: v >= 0, ">= 0"),
    ("max_texts_per_language", lambda v: v >= 0, ">= 0 (0: every gate text)"),
    ("batch_size", lambda v: v > 0, "> 0"),
    ("threads", lambda v: v > 0, "> 0"),
]
