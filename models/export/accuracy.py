"""The export gate: each artefact's probabilities against the SavedModel's, language by language.

Float artefacts must agree on every top-1 and move no probability more than `float_max_prob_delta`; int8
artefacts must agree on at least `int8_min_agreement` of each language's texts and lose at most
`int8_max_macro_f1_drop` macro-F1 (against the true labels) against the SavedModel in any language.
"""

from __future__ import annotations

from typing import Dict, List, Sequence

import numpy as np

from models.classifier.metrics import macro_f1
from models.export.settings import ExportSettings

FLOAT_PRECISIONS = ("float32", "float16")


def per_language(reference: np.ndarray, candidate: np.ndarray, label_ids: Sequence[int],
                 languages: Sequence[str]) -> Dict[str, Dict[str, float]]:
    """{lang: {examples, agreement, max_prob_delta, macro_f1, reference_macro_f1}} plus "overall"."""
    label_ids, languages = np.asarray(label_ids, int), np.asarray(languages)
    num_classes = reference.shape[1]
    ref_top, cand_top = reference.argmax(axis=1), candidate.argmax(axis=1)

    def summary(rows: np.ndarray) -> Dict[str, float]:
        return {"examples": int(rows.sum()),
                "agreement": round(float(np.mean(ref_top[rows] == cand_top[rows])), 4),
                "max_prob_delta": float(f"{np.abs(reference[rows] - candidate[rows]).max():.3g}"),
                "macro_f1": round(macro_f1(label_ids[rows], cand_top[rows], num_classes), 4),
                "reference_macro_f1": round(macro_f1(label_ids[rows], ref_top[rows], num_classes), 4)}

    result = {str(lang): summary(languages == lang) for lang in sorted(set(languages.tolist()))}
    result["overall"] = summary(np.ones(len(languages), bool))
    return result


def gate_failures(precision: str, accuracy: Dict[str, Dict[str, float]], settings: ExportSettings) -> List[str]:
    """Why an artefact of this precision may not ship (empty: it passes), one line per language and metric."""
    failures = []
    for lang, values in accuracy.items():
        if lang == "overall":
            continue
        if precision in FLOAT_PRECISIONS:
            if values["agreement"] < settings.float_min_agreement:
                failures.append(f"{lang}: top-1 agreement {values['agreement']:.4f} < {settings.float_min_agreement}")
            if values["max_prob_delta"] > settings.float_max_prob_delta:
                failures.append(f"{lang}: |Δprob| {values['max_prob_delta']:.3g} > {settings.float_max_prob_delta}")
            continue
        if values["agreement"] < settings.int8_min_agreement:
            failures.append(f"{lang}: top-1 agreement {values['agreement']:.4f} < {settings.int8_min_agreement}")
        drop = values["reference_macro_f1"] - values["macro_f1"]
        if drop > settings.int8_max_macro_f1_drop + 1e-9:
            failures.append(f"{lang}: macro-F1 {values['macro_f1']:.4f} is {drop:.4f} below the SavedModel's "
                            f"{values['reference_macro_f1']:.4f} (allowed {settings.int8_max_macro_f1_drop})")
    return failures


def certain_failure(precision: str, reference: np.ndarray, candidate: np.ndarray, languages: Sequence[str],
                    totals: Dict[str, int], settings: ExportSettings) -> str:
    """Why the gate must fail whatever the texts not yet measured answer ('' while it still can pass).

    `candidate` holds the first len(candidate) rows; `totals` each language's count of texts in the whole gate
    set. More texts can only add disagreements and probability deltas, so a language whose agreement is below
    the minimum even if every remaining text agreed has failed already. Macro-F1 is not bounded this way.
    """
    seen = len(candidate)
    langs = np.asarray(languages[:seen])
    disagrees = reference[:seen].argmax(axis=1) != candidate.argmax(axis=1)
    floats = precision in FLOAT_PRECISIONS
    minimum = settings.float_min_agreement if floats else settings.int8_min_agreement
    for lang in sorted(set(langs.tolist())):
        rows = langs == lang
        best_case = round(1.0 - float(disagrees[rows].sum()) / totals[lang], 4)
        if best_case < minimum:
            return f"{lang}: top-1 agreement at most {best_case:.4f} < {minimum}"
        delta = float(np.abs(reference[:seen][rows] - candidate[rows]).max())
        if floats and float(f"{delta:.3g}") > settings.float_max_prob_delta:
            return f"{lang}: |Δprob| {delta:.3g} > {settings.float_max_prob_delta}"
    return ""
