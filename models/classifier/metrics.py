"""Classification quality on plain arrays: accuracy and macro-F1, overall and per language."""

from __future__ import annotations

from typing import Dict, Sequence

import numpy as np


def macro_f1(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> float:
    """Unweighted mean of per-class F1 over the classes present in `labels` or `predictions`."""
    confusion = np.zeros((num_classes, num_classes))
    np.add.at(confusion, (np.asarray(labels, int), np.asarray(predictions, int)), 1.0)
    return macro_f1_from_confusion(confusion)


def macro_f1_from_confusion(confusion: np.ndarray) -> float:
    """Macro-F1 from a confusion matrix [label, predicted] of counts or weights (classes absent from both the
    labels and the predictions do not count)."""
    true_positive = np.diag(confusion)
    predicted, actual = confusion.sum(axis=0), confusion.sum(axis=1)
    present = (predicted + actual) > 0
    if not present.any():
        return 0.0
    return float(np.mean(2.0 * true_positive[present] / (predicted[present] + actual[present])))


def accuracy(labels: np.ndarray, predictions: np.ndarray) -> float:
    """Share of rows predicted right (0 for no rows)."""
    return float(np.mean(labels == predictions)) if len(labels) else 0.0


def classification_report(labels: np.ndarray, predictions: np.ndarray, languages: Sequence[str],
                          num_classes: int) -> Dict[str, object]:
    """{"overall": {macro_f1, accuracy, examples}, "per_language": {lang: {...}}} for one eval pass."""
    languages = np.asarray(languages)

    def summary(rows: np.ndarray) -> Dict[str, float]:
        return {"macro_f1": round(macro_f1(labels[rows], predictions[rows], num_classes), 4),
                "accuracy": round(accuracy(labels[rows], predictions[rows]), 4),
                "examples": int(np.sum(rows))}

    return {"overall": summary(np.ones(len(labels), bool)),
            "per_language": {str(lang): summary(languages == lang) for lang in sorted(set(languages.tolist()))}}
