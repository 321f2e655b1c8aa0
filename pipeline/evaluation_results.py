"""The Evaluator's metrics, read back as plain dicts for people (why it refused: models.evaluation.gate).

The metrics are per slice: "overall" and one entry per language (`lang=xx`, the Evaluator slices by language).
The records are read with `serving.record_files` and TFMA's MetricsForSlice schema from `serving.wire_protos`,
so `nlp2prod lineage` imports neither TensorFlow nor TFMA.
"""

from __future__ import annotations

import glob
import os
from typing import Dict, Iterator

from serving import record_files, wire_protos

# TFMA writes its metrics as `metrics` or `metrics-*.tfrecord` files in the evaluation folder.
_METRICS_FILES = "metrics*"


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
    by_slice: Dict[str, Dict[str, float]] = {}
    try:
        records = list(_metrics_records(evaluation_uri))
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


def _metrics_records(evaluation_uri: str) -> Iterator[object]:
    metrics_for_slice = wire_protos.message("tensorflow_model_analysis.MetricsForSlice")
    for path in sorted(glob.glob(os.path.join(evaluation_uri, _METRICS_FILES))):
        for record in record_files.read_records(path):
            yield metrics_for_slice.FromString(record)
