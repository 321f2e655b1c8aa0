"""The summary `nlp2prod run` prints after a run: cleaning, outcome, per-language metrics, size, location."""

from __future__ import annotations

import os
from typing import Dict, List, Optional

from pipeline import metadata_store, pushed_versions
from pipeline.configs import RunConfig
from pipeline.console import print_table
from pipeline.run_history import RunRecord

_CLEANER_NODE = "TextCleaner"


def print_summary(config: RunConfig, record: RunRecord) -> None:
    """Prints what the run did, from the run history record, MLMD and the pushed version's metadata."""
    cleaning = _cleaning_table(config, record.run_id)
    if cleaning:
        print("\nCleaning (rows in, out, and quarantined per reason, by language):")
        print("  " + cleaning.replace("\n", "\n  "))
    print()
    if record.outcome != "pushed":
        print(f"No version pushed: {record.outcome}.")
        for reason in record.reasons:
            print(f"  - {reason}")
        return
    model_dir = os.path.join(config.push.serving_root, config.push.model_name)
    metadata = pushed_versions.read_pushed_versions(config.push.serving_root, config.push.model_name)
    pushed = metadata.get(record.version, {})
    print(f"Pushed version {record.version} of {config.push.model_name!r} from span(s) {record.spans}"
          f" to {os.path.join(model_dir, str(record.version))}")
    _print_metrics(pushed.get("metrics", {}))
    _print_generalization(pushed.get("generalization") or {})
    _print_model_facts(pushed)
    _print_exports(pushed.get("exports") or {}, os.path.join(model_dir, str(record.version)))
    print(f"\nServe it: nlp2prod serve --model_name={config.push.model_name} --model_base_path={model_dir}")


def _cleaning_table(config: RunConfig, run_id: str) -> Optional[str]:
    from components.text_cleaner.summary import load_summary, render_summary

    try:
        store = metadata_store.open_store(config.metadata_path, read_only=True)
        execution = metadata_store.run_executions(store, run_id).get(_CLEANER_NODE)
        if execution is None:
            return None
        quarantine = metadata_store.run_outputs(store, execution.id).get("quarantine", [])
        return render_summary(load_summary(quarantine[0].uri)) if quarantine else None
    except (OSError, ValueError, KeyError):
        return None


def _print_metrics(metrics: Dict[str, Dict]) -> None:
    per_language: Dict[str, Dict[str, float]] = metrics.get("per_language", {})
    if not per_language:
        return
    names = sorted({name for values in per_language.values() for name in values})
    rows: List[List[object]] = [[lang] + [values.get(name, "") for name in names]
                                for lang, values in sorted(per_language.items())]
    overall = metrics.get("overall", {})
    rows.append(["overall"] + [overall.get(name, "") for name in names])
    print("\nEvaluation on the eval split:")
    print_table(rows, ["language"] + names)


def _print_exports(exports: Dict[str, Dict], version_dir: str) -> None:
    """Shipped edge artefacts (size, top-1 agreement per gate set, the lowest set and language) and the reasons
    others were not shipped."""
    shipped, refused = exports.get("artefacts") or {}, exports.get("refused") or {}
    if not shipped and not refused:
        return
    sets = list(dict.fromkeys(name for entry in shipped.values() for name in entry.get("accuracy", {})))
    rows: List[List[object]] = []
    for name, entry in sorted(shipped.items()):
        gate = entry.get("accuracy", {})
        languages = [(f"{gate_set} {lang}", values["agreement"]) for gate_set, measured in gate.items()
                     for lang, values in measured.items() if lang != "overall"]
        worst = min(languages, key=lambda item: item[1], default=("", ""))
        recipe = f" ({entry['int8_recipe']})" if entry.get("int8_recipe") else ""
        rows.append([name + recipe, f"{entry['bytes'] / 1e6:.1f} MB"]
                    + [gate.get(gate_set, {}).get("overall", {}).get("agreement", "") for gate_set in sets]
                    + [f"{worst[0]} {worst[1]}".strip()])
    if rows:
        print(f"\nEdge exports in {os.path.join(version_dir, exports.get('folder', ''))} "
              f"(nlp2prod edge predict --model {version_dir} TEXT...), top-1 agreement with the SavedModel:")
        print_table(rows, ["artefact", "size"] + sets + ["lowest set and language"])
    for name, entry in sorted(shipped.items()):
        for recipe, reason in sorted((entry.get("refused_recipes") or {}).items()):
            print(f"  {name}: recipe {recipe} not shipped: {reason}")
    for name, reason in sorted(refused.items()):
        print(f"  not shipped: {name}: {reason}")


def _print_generalization(summary: Dict[str, object]) -> None:
    """Out-of-corpus and held-out-language accuracy per language, pushed model beside the frozen baseline."""
    if not summary.get("per_language"):
        return
    rows: List[List[object]] = [[name, "yes" if row["trained_on"] else "no", row["examples"], row["pushed"],
                                 row["frozen_encoder"]] for name, row in sorted(summary["per_language"].items())]
    rows += [[name, "", "", row["pushed"], row["frozen_encoder"]] for name, row in sorted(summary["groups"].items())]
    prior, weight = summary.get("label_prior_strength"), summary.get("label_example_weight")
    with_prior = (f", label prior strength {prior:g}" if prior else "") + (
        f", label-example head weight {weight:g}" if weight else "")
    print(f"\nOn text outside training (accuracy; pushed = {summary['candidate']}{with_prior}):")
    print_table(rows, ["language (set)", "trained on", "rows", "pushed", "frozen e5 + linear head"])
    for failure in summary.get("fine_tuned_failures", []):
        print(f"  fine-tuned candidate not pushed: {failure}")


def _print_model_facts(pushed: Dict[str, object]) -> None:
    facts = []
    if pushed.get("baseline_version") is not None:
        facts.append(f"compared against version {pushed['baseline_version']}")
    if pushed.get("sparsity") is not None:
        facts.append(f"sparsity {float(pushed['sparsity']):.0%}")
    if pushed.get("saved_model_bytes"):
        facts.append(f"SavedModel {int(pushed['saved_model_bytes']) / 1e6:.1f} MB")
    if facts:
        print("\n" + ", ".join(facts))
