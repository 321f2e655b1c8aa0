"""Reading a window of request logs back into one row per classified text.

Rows come from PredictionLog records written by `monitoring.request_log` (or by anything that writes TF
Serving's PredictionLog with a predict_log whose response holds `probabilities` and `label`). Records without
the `nlp2prod_request` part get their features derived here from the logged text.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import os
from typing import List, Optional, Sequence, Tuple

from monitoring import tensors
from monitoring.language import canonical_language, shared_detector
from monitoring.log_protos import PredictionLog
from monitoring.request_log import log_files
from serving import record_files

PROBABILITIES, LABEL = "probabilities", "label"


@dataclasses.dataclass(frozen=True)
class LoggedText:
    """One classified text of a logged request."""

    timestamp: int
    model: str
    version: int
    request_id: str
    index: int
    language: str
    char_count: int
    predicted: str
    max_probability: float
    margin: float
    entropy: float
    text: str = ""

    @property
    def key(self) -> str:
        """The id feedback uses: the request id, with `:index` for texts after the first of a batch."""
        return self.request_id if self.index == 0 else f"{self.request_id}:{self.index}"


@dataclasses.dataclass
class LogWindow:
    rows: List[LoggedText]
    files: List[str]
    problems: List[str]


def _confidence(probabilities: Sequence[float]) -> Tuple[float, float, float]:
    """(max probability, margin between the top two, entropy normalised to [0, 1])."""
    ranked = sorted((float(p) for p in probabilities), reverse=True)
    if not ranked:
        return 0.0, 0.0, 0.0
    margin = ranked[0] - (ranked[1] if len(ranked) > 1 else 0.0)
    entropy = -sum(p * math.log(p) for p in ranked if p > 0)
    return ranked[0], margin, entropy / math.log(len(ranked)) if len(ranked) > 1 else 0.0


def rows_of_record(record: PredictionLog) -> List[LoggedText]:
    """The texts of one PredictionLog, with predictions and derived features."""
    metadata, log = record.log_metadata, record.predict_log
    outputs = log.response.outputs
    labels = [v[0].decode("utf-8", "replace") for v in tensors.rows(outputs[LABEL])] if LABEL in outputs else []
    probabilities = tensors.rows(outputs[PROBABILITIES]) if PROBABILITIES in outputs else []
    texts = ([v[0].decode("utf-8", "replace") for v in tensors.rows(log.request.inputs["text"])]
             if "text" in log.request.inputs else [])
    features = list(record.nlp2prod_request.texts)
    if not features and texts:
        detected = shared_detector().detect(texts)
        features = [_Derived(d.language, len(t)) for d, t in zip(detected, texts)]
    version = metadata.model_spec.version.value or log.response.model_spec.version.value
    rows = []
    for index, feature in enumerate(features):
        top, margin, entropy = _confidence(probabilities[index]) if index < len(probabilities) else (0.0, 0.0, 0.0)
        rows.append(LoggedText(
            timestamp=metadata.timestamp_secs, model=metadata.model_spec.name, version=int(version),
            request_id=record.nlp2prod_request.request_id, index=index,
            language=canonical_language(feature.language), char_count=int(feature.char_count),
            predicted=labels[index] if index < len(labels) else "", max_probability=top, margin=margin,
            entropy=entropy, text=texts[index] if index < len(texts) else ""))
    return rows


@dataclasses.dataclass(frozen=True)
class _Derived:
    language: str
    char_count: int


def read_window(filename_prefix: str, start: Optional[float] = None, end: Optional[float] = None,
                model: str = "") -> LogWindow:
    """Rows of every logged text with start <= timestamp < end (None: unbounded), of `model` if given.

    A file that fails its checksum or ends in a partial record (a crash while writing) keeps the rows read
    before the damage, and the damage is listed in `problems`; it never stops the read.
    """
    window = LogWindow([], [], [])
    for path in log_files(filename_prefix):
        if end is not None and _first_timestamp(path) >= end:
            continue
        window.files.append(path)
        try:
            for payload in record_files.read_records(path):
                record = PredictionLog.FromString(payload)
                stamp = record.log_metadata.timestamp_secs
                if (start is None or stamp >= start) and (end is None or stamp < end) and \
                        (not model or record.log_metadata.model_spec.name == model):
                    window.rows.extend(rows_of_record(record))
        except (record_files.CorruptRecordError, OSError) as error:
            window.problems.append(str(error))
    return window


def _first_timestamp(path: str) -> float:
    """The UTC time in a log file's name (when it was opened), as seconds."""
    stamp = os.path.basename(path)[:-len(".tfrecord")].split("-")[-3]
    try:
        moment = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%S").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return float("-inf")
    return moment.timestamp()
