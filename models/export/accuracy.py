"""The export gate: each artefact's probabilities against the SavedModel's, per gate set and language.

The gate sets are the Trainer's own evaluation sets (`models.classifier.candidates`): the eval split, the
held-out-language split and the out-of-corpus sentences, whichever the run has. Float artefacts must agree on
every top-1 and move no probability more than `float_max_prob_delta`; int8 artefacts must agree on at least
`int8_min_agreement` of each language's texts in each set, and lose at most `int8_max_macro_f1_drop` against
the SavedModel in any language of any set: macro-F1 on the eval split, accuracy on the other sets (the metric
`candidates.compression_failures` gates the Trainer's compression steps on).
"""

from __future__ import annotations

from typing import Dict, List, Sequence

import numpy as np

from models.classifier.candidates import EVAL
from models.classifier.metrics import macro_f1
from models.export.settings import ExportSettings

FLOAT_PRECISIONS = ("float32", "float16")
OVERALL = "overall"


def quality_metric(gate_set: str) -> str:
    """The metric an int8 artefact may lose at most `int8_max_macro_f1_drop` of in one language of a set."""
    return "macro_f1" if gate_set == EVAL else "accuracy"


def per_set(reference: np.ndarray, candidate: np.ndarray, label_ids: Sequence[int], languages: Sequence[str],
            gate_sets: Sequence[str]) -> Dict[str, Dict[str, Dict[str, float]]]:
    """{set: {lang: {examples, agreement, max_prob_delta, macro_f1, reference_macro_f1, accuracy,
    reference_accuracy}, "overall": ...}}, one entry per set among `gate_sets` (row i belongs to gate_sets[i])."""
    label_ids, languages, gate_sets = np.asarray(label_ids, int), np.asarray(languages), np.asarray(gate_sets)
    num_classes = reference.shape[1]
    ref_top, cand_top = reference.argmax(axis=1), candidate.argmax(axis=1)

    def summary(rows: np.ndarray) -> Dict[str, float]:
        return {"examples": int(rows.sum()),
                "agreement": round(float(np.mean(ref_top[rows] == cand_top[rows])), 4),
                "max_prob_delta": float(f"{np.abs(reference[rows] - candidate[rows]).max():.3g}"),
                "macro_f1": round(macro_f1(label_ids[rows], cand_top[rows], num_classes), 4),
                "reference_macro_f1": round(macro_f1(label_ids[rows], ref_top[rows], num_classes), 4),
                "accuracy": round(float(np.mean(cand_top[rows] == label_ids[rows])), 4),
                "reference_accuracy": round(float(np.mean(ref_top[rows] == label_ids[rows])), 4)}

    result = {}
    for name in dict.fromkeys(gate_sets.tolist()):  # in the order the rows first name them
        in_set = gate_sets == name
        result[str(name)] = {str(lang): summary(in_set & (languages == lang))
                             for lang in sorted(set(languages[in_set].tolist()))}
        result[str(name)][OVERALL] = summary(in_set)
    return result


def gate_failures(precision: str, accuracy: Dict[str, Dict[str, Dict[str, float]]],
                  settings: ExportSettings) -> List[str]:
    """Why an artefact of this precision may not ship (empty: it passes), one line per set, language and metric."""
    failures = []
    for gate_set, languages in accuracy.items():
        metric = quality_metric(gate_set)
        for lang, values in languages.items():
            if lang == OVERALL:
                continue
            where = f"{gate_set} {lang}"
            if precision in FLOAT_PRECISIONS:
                if values["agreement"] < settings.float_min_agreement:
                    failures.append(f"{where}: top-1 agreement {values['agreement']:.4f} < "
                                    f"{settings.float_min_agreement}")
                if values["max_prob_delta"] > settings.float_max_prob_delta:
                    failures.append(f"{where}: |Δprob| {values['max_prob_delta']:.3g} > "
                                    f"{settings.float_max_prob_delta}")
                continue
            if values["agreement"] < settings.int8_min_agreement:
                failures.append(f"{where}: top-1 agreement {values['agreement']:.4f} < {settings.int8_min_agreement}")
            drop = values[f"reference_{metric}"] - values[metric]
            if drop > settings.int8_max_macro_f1_drop + 1e-9:
                failures.append(f"{where}: {metric} {values[metric]:.4f} is {drop:.4f} below the SavedModel's "
                                f"{values[f'reference_{metric}']:.4f} (allowed {settings.int8_max_macro_f1_drop})")
    return failures


def certain_failure(precision: str, reference: np.ndarray, candidate: np.ndarray, groups: Sequence[str],
                    totals: Dict[str, int], settings: ExportSettings) -> str:
    """Why the gate must fail whatever the texts not yet measured answer ('' while it still can pass).

    `candidate` holds the first len(candidate) rows; `groups` names each row's set and language ("eval en") and
    `totals` each group's count of texts in the whole gate. More texts can only add disagreements and
    probability deltas, so a group whose agreement is below the minimum even if every remaining text agreed
    has failed already. Macro-F1 and accuracy are not bounded this way.
    """
    seen = len(candidate)
    names = np.asarray(groups[:seen])
    disagrees = reference[:seen].argmax(axis=1) != candidate.argmax(axis=1)
    floats = precision in FLOAT_PRECISIONS
    minimum = settings.float_min_agreement if floats else settings.int8_min_agreement
    for group in sorted(set(names.tolist())):
        rows = names == group
        best_case = round(1.0 - float(disagrees[rows].sum()) / totals[group], 4)
        if best_case < minimum:
            return f"{group}: top-1 agreement at most {best_case:.4f} < {minimum}"
        delta = float(np.abs(reference[:seen][rows] - candidate[rows]).max())
        if floats and float(f"{delta:.3g}") > settings.float_max_prob_delta:
            return f"{group}: |Δprob| {delta:.3g} > {settings.float_max_prob_delta}"
    return ""
