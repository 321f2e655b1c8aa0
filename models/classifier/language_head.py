"""Which language a text looks like, and whether this version was trained on it: a linear head on the masked
mean of the embedding layer's output (token identity: the encoder's pooled output is built to be the same
across languages, and named UDHR-only languages right in 0-16% of out-of-corpus texts), exported beside the
topic head.

It is fitted on the features of every corpus row (train, eval and held-out splits: their language is
declared) and of reference text in more languages (e.g. UDHR segments), so text in a language the topic head
never saw is named as that language instead of the nearest trained one. A text whose top language scores below
`min_confidence` is answered as `UNDETERMINED`. `trained` is true only for the languages the topic head was
trained on; the served answer is never refused because of it.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from models.classifier import classifier as classifier_lib
from models.classifier.metrics import accuracy

UNDETERMINED = "und"


@dataclasses.dataclass(frozen=True)
class LanguageHead:
    """A softmax layer over languages on the pooled features, and what it knows."""

    languages: Tuple[str, ...]
    trained: Tuple[bool, ...]
    kernel: np.ndarray  # float32 [H, languages]
    bias: np.ndarray  # float32 [languages]
    min_confidence: float = 0.5

    def predict(self, pooled: np.ndarray) -> np.ndarray:
        """The language of each row (`UNDETERMINED` below `min_confidence`)."""
        logits = pooled @ self.kernel + self.bias
        probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        names = np.asarray(self.languages, dtype=object)[np.argmax(probabilities, axis=1)]
        return np.where(probabilities.max(axis=1) >= self.min_confidence, names, UNDETERMINED)


def fit(pooled: np.ndarray, languages: Sequence[str], trained_languages: Sequence[str],
        min_confidence: float = 0.5) -> LanguageHead:
    """Class-balanced softmax regression over the languages of the rows."""
    names = tuple(sorted(set(languages)))
    index = {name: i for i, name in enumerate(names)}
    ids = np.array([index[lang] for lang in languages], np.int32)
    counts = np.bincount(ids, minlength=len(names)).astype(np.float32)
    weights = len(ids) / (len(names) * counts)
    kernel, bias, _ = classifier_lib.fit_linear_head(pooled, ids, weights, len(names), l2=1e-4, steps=300)
    trained = set(trained_languages)
    return LanguageHead(names, tuple(name in trained for name in names), kernel, bias, min_confidence)


def identification_report(head: LanguageHead, pooled: np.ndarray, languages: Sequence[str]) -> Dict[str, object]:
    """Per language: the share of rows named as their own language, and the most common other answer."""
    predicted = head.predict(pooled)
    languages = np.asarray(languages)
    per_language: Dict[str, Dict[str, object]] = {}
    for lang in sorted(set(languages.tolist())):
        rows = languages == lang
        answers, counts = np.unique(predicted[rows], return_counts=True)
        per_language[lang] = {"accuracy": round(accuracy(languages[rows], predicted[rows]), 4),
                              "examples": int(rows.sum()), "known": lang in head.languages,
                              "most_common_answer": str(answers[np.argmax(counts)])}
    return {"overall": round(accuracy(languages, predicted), 4), "per_language": per_language}


def optional_fields(head: Optional[LanguageHead]) -> Dict[str, object]:
    """The JSON-ready description of a head for the training report."""
    if head is None:
        return {"exported": False}
    return {"exported": True, "languages": list(head.languages),
            "trained": [lang for lang, known in zip(head.languages, head.trained) if known],
            "min_confidence": head.min_confidence}
