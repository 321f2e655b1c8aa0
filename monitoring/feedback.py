"""True labels for logged requests (by request id), and the live accuracy they give.

Feedback is an append-only JSON-lines file, one `{"request_id", "label", "time", "source"}` per line; a later line
for the same id replaces an earlier one. The id is the one the request log returned (the gateway sends it
back to the client); the n-th text of a batched request is `<request_id>:<n>` (n >= 1), the first is the bare id.
"""

from __future__ import annotations

import collections
import datetime
import json
import os
import threading
from typing import Dict, Iterable, List, Mapping, Sequence

from monitoring.log_reader import LoggedText

_LOCK = threading.Lock()


class FeedbackError(ValueError):
    """Feedback that cannot be recorded; the message says which field is wrong."""


def record_feedback(path: str, request_id: str, label: str, labels: Sequence[str] = (), source: str = "") -> dict:
    """Appends one true label; returns the stored entry.

    Args:
      path: the feedback file (created with its folder).
      request_id: the logged request's id (`<id>:<n>` for the n-th text of a batch).
      label: the true label.
      labels: the model's labels; when given, `label` must be one of them.
      source: who sent it (a key id, "cli").

    Raises:
      FeedbackError: an empty id or label, or a label outside `labels`.
    """
    request_id, label = (request_id or "").strip(), (label or "").strip()
    if not request_id:
        raise FeedbackError("feedback needs a request_id")
    if not label:
        raise FeedbackError(f"feedback for {request_id!r} has an empty label")
    if labels and label not in labels:
        raise FeedbackError(f"label {label!r} is not one of the model's labels ({', '.join(labels)})")
    entry = {"request_id": request_id, "label": label, "source": source,
             "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    line = json.dumps(entry, ensure_ascii=False) + "\n"
    with _LOCK, open(path, "a", encoding="utf-8") as handle:
        handle.write(line)
    return entry


def read_feedback(path: str) -> Dict[str, str]:
    """request id → latest true label (empty when the file does not exist); malformed lines are skipped."""
    labels: Dict[str, str] = {}
    if not os.path.exists(path):
        return labels
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            try:
                entry = json.loads(line)
                labels[str(entry["request_id"])] = str(entry["label"])
            except (ValueError, KeyError, TypeError):
                continue
    return labels


def macro_f1(truth: Sequence[str], predicted: Sequence[str]) -> float:
    """Macro-averaged F1 over every class that occurs in the truth or the predictions."""
    classes = sorted(set(truth) | set(predicted))
    if not classes:
        return 0.0
    scores = []
    for cls in classes:
        tp = sum(t == cls and p == cls for t, p in zip(truth, predicted))
        fp = sum(t != cls and p == cls for t, p in zip(truth, predicted))
        fn = sum(t == cls and p != cls for t, p in zip(truth, predicted))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    return sum(scores) / len(scores)


def live_accuracy(rows: Iterable[LoggedText], feedback: Mapping[str, str]) -> Dict[str, dict]:
    """Per language (and "all"): labelled texts, accuracy and macro-F1 of the logged predictions."""
    pairs: Dict[str, List[tuple]] = collections.defaultdict(list)
    for row in rows:
        truth = feedback.get(row.key)
        if truth is not None:
            pairs[row.language].append((truth, row.predicted))
            pairs["all"].append((truth, row.predicted))
    return {language: _scores(items) for language, items in sorted(pairs.items())}


def _scores(items: List[tuple]) -> dict:
    truth, predicted = [t for t, _ in items], [p for _, p in items]
    return {"labels": len(items), "accuracy": sum(t == p for t, p in items) / len(items),
            "macro_f1": macro_f1(truth, predicted)}

