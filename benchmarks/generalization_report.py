"""Markdown tables of generalization_bench.py's training reports (one JSON per variant)."""

from __future__ import annotations

import glob
import json
import os
from typing import Dict, List

OOC, HELD, EVAL = "out_of_corpus", "held_out_language", "eval"


def _accuracy(report: Dict, name: str, lang: str) -> str:
    summary = report.get(name, {}).get("per_language", {}).get(lang)
    return f"{summary['accuracy']:.3f}" if summary else "–"


def _group(report: Dict, name: str, group: str) -> str:
    value = report.get(name, {}).get("groups", {}).get(group)
    return f"{value['accuracy']:.3f}" if value else "–"


def _baseline(run: Dict) -> Dict:
    """Frozen encoder + linear head without the label prior (runs before the prior have only the one)."""
    return run["candidates"].get("frozen_encoder_head_only", run["candidates"]["frozen_encoder"])


def _strength(run: Dict, candidate: str) -> str:
    """The prior's strength, and the label-example head's weight where the run had one."""
    entry = run.get("label_prior", {}).get("candidates", {}).get(candidate)
    if not entry:
        return "–"
    weight = entry.get("example_weight")
    return f"{entry['strength']:g}" + (f", label-example head weight {weight:g}" if weight is not None else "")


def language_table(run: Dict) -> List[str]:
    """Per language: frozen encoder + linear head vs the model the run keeps, on OOC and held-out text."""
    frozen, pushed = _baseline(run), run["pushed"]
    fine = run["candidates"]["fine_tuned"]
    unknown = run["vocabulary"].get("unknown_rate", {}).get(OOC, {})
    trained = set(run["trained_languages"])
    identified = run.get("language_head", {}).get(OOC, {}).get("per_language", {})
    lines = ["| language | trained on | OOC frozen e5 + LR | OOC fine-tuned (+ its prior) | OOC pushed | OOC `<unk>` rate (planned trim) "
             "| language named right (language head) |", "|---|---|---|---|---|---|---|"]
    for lang in sorted(frozen[OOC]["per_language"]):
        named = identified.get(lang)
        lines.append(f"| {lang} | {'yes' if lang in trained else 'no'} | {_accuracy(frozen, OOC, lang)} | "
                     f"{_accuracy(fine, OOC, lang)} | {_accuracy(pushed, OOC, lang)} | {unknown.get(lang, 0):.4f} | "
                     + (f"{named['accuracy']:.2f} (else {named['most_common_answer']})" if named else "–") + " |")
    for group in ("trained", "absent"):
        lines.append(f"| **{group} languages** | | {_group(frozen, OOC, group)} | {_group(fine, OOC, group)} | "
                     f"{_group(pushed, OOC, group)} | | |")
    lines.append(f"| **all** | | {frozen[OOC]['overall']['accuracy']:.3f} | {fine[OOC]['overall']['accuracy']:.3f} | "
                 f"{pushed[OOC]['overall']['accuracy']:.3f} | | |")
    for lang in sorted(frozen.get(HELD, {}).get("per_language", {})):
        lines.append(f"| {lang} (held-out split, corpus rows) | no | {_accuracy(frozen, HELD, lang)} | "
                     f"{_accuracy(fine, HELD, lang)} | {_accuracy(pushed, HELD, lang)} | | |")
    lines.append(f"| eval split macro-F1 (leak-free) | | {frozen[EVAL]['overall']['macro_f1']:.3f} | "
                 f"{fine[EVAL]['overall']['macro_f1']:.3f} | {pushed[EVAL]['overall']['macro_f1']:.3f} | | |")
    return lines


def step_table(runs: List[Dict]) -> List[str]:
    """What each step costs: OOC accuracy (trained / absent / all), held-out accuracy, eval macro-F1."""
    lines = ["| variant | step | OOC trained | OOC absent | OOC all | held-out | eval macro-F1 |",
             "|---|---|---|---|---|---|---|"]

    def row(variant, step, reports):
        groups = {g: reports[OOC]["groups"].get(g, {}).get("accuracy") for g in ("trained", "absent")}
        held = reports.get(HELD, {}).get("overall", {}).get("accuracy")
        cells = [f"{groups['trained']:.3f}", f"{groups['absent']:.3f}", f"{reports[OOC]['overall']['accuracy']:.3f}",
                 f"{held:.3f}" if held is not None else "–", f"{reports[EVAL]['overall']['macro_f1']:.3f}"]
        lines.append(f"| {variant} | {step} | " + " | ".join(cells) + " |")

    for run in runs:
        name = run["variant"]
        fine_tuned = f"fine-tuned (top {run['trainable_layers']} of {run['num_layers']} blocks)"
        reports = run["candidates"]
        row(name, "frozen encoder + linear head", _baseline(run))
        if "frozen_encoder_head_only" in reports:
            row(name, f"frozen encoder + linear head + label prior (strength {_strength(run, 'frozen_encoder')})",
                reports["frozen_encoder"])
            row(name, f"{fine_tuned}, head alone", reports["fine_tuned_head_only"])
            row(name, f"{fine_tuned} + label prior (strength {_strength(run, 'fine_tuned')})", reports["fine_tuned"])
        else:
            row(name, fine_tuned, reports["fine_tuned"])
        if "pruned" in run:
            row(name, f"then pruned (kept: {run['pruned']['kept']})", _with_groups(run["pruned"]["reports"], run))
        vocabulary = run["vocabulary"]
        if "reports" in vocabulary:
            row(name, f"then vocabulary trimmed to {vocabulary['planned_rows']} rows (kept: {vocabulary['trimmed']})",
                _with_groups(vocabulary["reports"], run))
        for step, title in (("bfloat16_kernels", "bfloat16 kernels"), ("int8_word_embedding", "int8 word embedding")):
            if step in run:
                row(name, f"then {title} (kept: {run[step]['kept']})", _with_groups(run[step]["reports"], run))
        lines.append(f"| {name} | **pushed: {run['chosen']['candidate']}** | " + " | ".join(
            _pushed_cells(run["pushed"])) + " |")
    return lines


def _with_groups(reports: Dict, run: Dict) -> Dict:
    from models.classifier.candidates import summarize
    return summarize(reports, run["trained_languages"])


def _pushed_cells(pushed: Dict) -> List[str]:
    held = pushed.get(HELD, {}).get("overall", {}).get("accuracy")
    return [f"{pushed[OOC]['groups'].get('trained', {}).get('accuracy', 0):.3f}",
            f"{pushed[OOC]['groups'].get('absent', {}).get('accuracy', 0):.3f}",
            f"{pushed[OOC]['overall']['accuracy']:.3f}", f"{held:.3f}" if held is not None else "–",
            f"{pushed[EVAL]['overall']['macro_f1']:.3f}"]


def time_table(runs: List[Dict]) -> List[str]:
    lines = ["| variant | wall s | cache frozen layers s | linear probe s | fine-tuning s/epoch | real-token share "
             "(bucketed / random batches / per epoch) | load average at end |", "|---|---|---|---|---|---|---|"]
    for run in runs:
        seconds, share = run.get("seconds", {}), run.get("real_token_share", {})
        lines.append(f"| {run['variant']} | {run['wall_seconds']} | {seconds.get('cache_frozen_layers', '–')} | "
                     f"{seconds.get('linear_probe', '–')} | {seconds.get('per_epoch', '–')} | "
                     f"{share.get('bucketed', '–')} / {share.get('random_batches', '–')} / "
                     f"{share.get('per_epoch', [])} | {run['load_average'][0]:.2f} |")
    return lines


def write_report(json_dir: str, output: str, command: str) -> None:
    runs = [json.load(open(path)) for path in sorted(glob.glob(os.path.join(json_dir, "*.json")))]
    parts = ["# Generalization: each training step on text outside the corpus", "",
             f"Command: `{command}` (2 shared CPU cores, NOT QUIET: other agents' jobs ran beside it).", "",
             "OOC = data/out_of_corpus (hand-written, 100 sentences per language, 10 labels); held-out = the "
             "corpus rows of the held-out language; eval = the group-partitioned eval split. Accuracy unless "
             "marked macro-F1.", "", "## What each step costs", ""]
    parts += step_table(runs)
    for run in runs:
        parts += ["", f"## Per language: {run['variant']} (pushed: {run['chosen']['candidate']})", ""]
        if run["chosen"]["fine_tuned_failures"]:
            parts += ["Fine-tuned candidate refused: " + "; ".join(run["chosen"]["fine_tuned_failures"]), ""]
        parts += language_table(run)
    parts += ["", "## Time", ""] + time_table(runs)
    with open(output, "w") as f:
        f.write("\n".join(parts) + "\n")
    print("\n".join(parts))
