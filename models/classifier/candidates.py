"""Gates between training candidates, on text the model was not trained on.

Every candidate (the frozen encoder + linear head, the fine-tuned model, its pruned or vocabulary-trimmed
versions) is measured on the same named evaluation sets: `eval` (the leak-free eval split), `held_out_language`
(rows of languages left out of training) and `out_of_corpus` (hand-written text outside the corpus). A report
per set is `metrics.classification_report`'s {"overall", "per_language"}.

* `fine_tuned_failures`: where the fine-tuned model is worse than the frozen candidate (accuracy on the
  out-of-corpus set per language group, trained vs absent from training, and on the held-out languages); the
  fine-tuned model is kept only when this is empty.
* `compression_failures`: the languages in which a compression step (pruning, trimming) lost more than its
  tolerance, in any set.
"""

from __future__ import annotations

from typing import Dict, List, Mapping, Sequence

Reports = Mapping[str, Mapping[str, object]]  # set name → classification report

EVAL = "eval"
HELD_OUT = "held_out_language"
OUT_OF_CORPUS = "out_of_corpus"
TRAINED_GROUP, ABSENT_GROUP = "trained", "absent"
# The baseline every summary shows: the frozen encoder + linear head without the label prior (label_prior.py).
FROZEN_HEAD_ONLY = "frozen_encoder_head_only"
# The sets the fine-tuned model must not lose on (its own eval split is where it is expected to win).
GENERALIZATION_SETS = (OUT_OF_CORPUS, HELD_OUT)


def group_accuracy(report: Mapping[str, object], trained_languages: Sequence[str]) -> Dict[str, Dict[str, float]]:
    """Accuracy and rows per language group (`trained` in training, `absent` from it), weighted by rows."""
    trained = set(trained_languages)
    groups: Dict[str, Dict[str, float]] = {}
    for lang, summary in report["per_language"].items():
        group = groups.setdefault(TRAINED_GROUP if lang in trained else ABSENT_GROUP,
                                  {"correct": 0.0, "examples": 0})
        group["correct"] += summary["accuracy"] * summary["examples"]
        group["examples"] += summary["examples"]
    return {name: {"accuracy": round(g["correct"] / max(g["examples"], 1), 4), "examples": int(g["examples"])}
            for name, g in sorted(groups.items())}


def summarize(reports: Reports, trained_languages: Sequence[str]) -> Dict[str, object]:
    """Per set: the report plus its language-group accuracies."""
    return {name: {**report, "groups": group_accuracy(report, trained_languages)} for name, report in reports.items()}


def fine_tuned_failures(frozen: Reports, fine_tuned: Reports, trained_languages: Sequence[str]) -> List[str]:
    """Where the fine-tuned candidate's accuracy is below the frozen one's: per language group of the
    out-of-corpus set, and overall on the held-out languages (sets that are absent are skipped)."""
    failures = []
    for name in GENERALIZATION_SETS:
        if name not in frozen or name not in fine_tuned:
            continue
        ours, theirs = group_accuracy(fine_tuned[name], trained_languages), group_accuracy(frozen[name],
                                                                                           trained_languages)
        for group in sorted(theirs):
            if ours[group]["accuracy"] < theirs[group]["accuracy"]:
                failures.append(f"{name} {group} languages: accuracy {ours[group]['accuracy']:.3f} < frozen-"
                                f"encoder candidate {theirs[group]['accuracy']:.3f}")
    return failures


def compression_failures(before: Reports, after: Reports, tolerance: float) -> List[str]:
    """Languages where `after` lost more than `tolerance` against `before`: macro-F1 on the eval split,
    accuracy on the other sets."""
    failures = []
    for name, report in before.items():
        metric = "macro_f1" if name == EVAL else "accuracy"
        for lang, summary in report["per_language"].items():
            new = after[name]["per_language"].get(lang, {}).get(metric, 0.0)
            if summary[metric] - new > tolerance:
                failures.append(f"{name} {lang}: {metric} {summary[metric]:.3f} → {new:.3f}")
    return failures


def generalization_summary(training_report: Mapping[str, object]) -> Dict[str, object]:
    """The compact form the pushed version's metadata and the run summary carry: which candidate was kept and
    why, and per language of the out-of-corpus and held-out sets, the pushed model's accuracy beside the frozen
    encoder + linear head's (without the label prior when the report has that candidate)."""
    reports = training_report.get("candidates", {})
    pushed, frozen = training_report.get("pushed"), reports.get(FROZEN_HEAD_ONLY, reports.get("frozen_encoder"))
    if not pushed or not frozen:
        return {}
    trained = set(training_report.get("trained_languages", []))
    rows: Dict[str, Dict[str, object]] = {}
    for name in GENERALIZATION_SETS:
        for lang, summary in pushed.get(name, {}).get("per_language", {}).items():
            rows[f"{lang} ({'held-out split' if name == HELD_OUT else 'out-of-corpus'})"] = {
                "pushed": summary["accuracy"], "frozen_encoder": frozen[name]["per_language"][lang]["accuracy"],
                "trained_on": lang in trained, "examples": summary["examples"]}
    groups = {f"{name} {group}": {"pushed": value["accuracy"],
                                  "frozen_encoder": frozen[name]["groups"][group]["accuracy"]}
              for name in GENERALIZATION_SETS for group, value in pushed.get(name, {}).get("groups", {}).items()}
    chosen = training_report.get("chosen", {})
    return {"candidate": chosen.get("candidate"), "fine_tuned_failures": chosen.get("fine_tuned_failures", []),
            "label_prior_strength": training_report.get("label_prior", {}).get("pushed_strength"),
            "label_example_weight": training_report.get("label_prior", {}).get("pushed_example_weight"),
            "per_language": rows, "groups": groups}
