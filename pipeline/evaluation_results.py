"""The Evaluator's metrics, read back as plain dicts for people (why it refused: models.evaluation.gate).

The metrics are per slice: "overall" and one entry per language (`lang=xx`, the Evaluator slices by language).
TensorFlow Model Analysis is imported only when a result is read.
"""

from __future__ import annotations

import os
from typing import Dict


def slice_name(slice_key) -> str:
    """The slice as text: `overall` for the empty slice, else `column=value` pairs joined by commas."""
    parts = []
    for key in slice_key.single_slice_keys:
        kind = key.WhichOneof("kind")
        value = getattr(key, kind) if kind else ""
        parts.append(f"{key.column}={value.decode('utf-8') if isinstance(value, bytes) else value}")
    return ",".join(parts) or "overall"


def read_metrics(evaluation_uri: str) -> Dict[str, Dict[str, float]]:
    """Candidate metrics by slice (`overall`, `lang=en`, ...); differences to the baseline end in `_vs_baseline`.

    Returns an empty dict when the folder holds no metrics (an Evaluator that did not run to the end).
    """
    if not os.path.isdir(evaluation_uri):
        return {}
    import tensorflow_model_analysis as tfma

    by_slice: Dict[str, Dict[str, float]] = {}
    try:
        records = list(tfma.load_metrics(evaluation_uri))
    except (OSError, ValueError):
        return {}
    for record in records:
        metrics = by_slice.setdefault(slice_name(record.slice_key), {})
        for item in record.metric_keys_and_values:
            if item.key.model_name not in ("", "candidate") or not item.value.HasField("double_value"):
                continue
            name = item.key.name + ("_vs_baseline" if item.key.is_diff else "")
            metrics[name] = round(item.value.double_value.value, 6)
    return by_slice
