"""The export benchmark's markdown: the side-by-side table, per-language accuracy, runtimes, the edge venv."""

from __future__ import annotations

from typing import Dict, List, Sequence

from machine import markdown_facts


def _table(headers: List[str], rows: List[List[object]]) -> List[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return lines + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]


def _main_table(results: Dict[str, Dict], saved_model: Dict) -> List[str]:
    rows = []
    for name, r in results.items():
        overall = r["accuracy"]["eval"]["overall"]
        rows.append([name, f"{r['bytes'] / 1e6:.1f}", f"{r['bytes'] / saved_model['bytes']:.2f}×",
                     f"{r['load_s']:.2f}", r["p50_ms"],
                     f"{r['batch32_texts_per_s']} ({' / '.join(str(v) for v in r['batch32_rounds'])})",
                     f"{r['vs_first']:.2f}×",
                     overall["macro_f1"], overall["agreement"], overall["max_prob_delta"], r["gate"]])
    return _table(["artefact", "size MB", "vs SavedModel", "load s", "single-text p50 ms",
                   "batch-32 texts/s: median (per round)", "vs SavedModel (median of per-round ratios)", "macro-F1",
                   "top-1 agreement", "max abs Δprob", "gate"], rows)


def _language_table(results: Dict[str, Dict], languages: List[str]) -> List[str]:
    rows = []
    for lang in languages + ["overall"]:
        row: List[object] = [lang, results[next(iter(results))]["accuracy"]["eval"][lang]["examples"]]
        for r in results.values():
            values = r["accuracy"]["eval"][lang]
            row.append(f"{values['macro_f1']} / {values['agreement']}")
        rows.append(row)
    return _table(["language", "texts"] + [f"{name}: F1 / agree" for name in results], rows)


def _runtime_lines(runtimes: Dict[str, int], edges: Sequence[Dict]) -> List[str]:
    lines = ["Installed size of each runtime's dependency closure, measured from package records in the project "
             "venv (the SavedModel needs the `serving` extra; the artefacts need `edge`'s runtimes):", ""]
    lines += [f"- {name}: {size / 1e6:.0f} MB" for name, size in runtimes.items()]
    for edge in edges:
        net = edge["site_bytes"] - edge["pip_setuptools_bytes"]
        lines += ["", f"Fresh venv with only the edge runtime, {edge['install']}:", "",
                  f"- site-packages: {edge['site_bytes'] / 1e6:.0f} MB ({net / 1e6:.0f} MB without pip/setuptools; "
                  f"target ≤ 200 MB)",
                  f"- import time of edge.runtime + onnxruntime + sentencepiece + tflite_runtime: {edge['import_s']} s",
                  f"- packages: {', '.join(edge['packages'])}", ""]
        for artefact, answers in edge["answers"].items():
            lines += [f"`nlp2prod edge predict {artefact}` in that venv (label, probability, text):", "", "```",
                      *answers, "```", ""]
    return lines


def render_report(outcome: Dict, runtimes: Dict[str, int], edges: Sequence[Dict], facts: Dict[str, str],
                  command: str, model_dir: str) -> str:
    """The whole markdown result."""
    results = outcome["results"]
    saved_model = results["SavedModel (TF)"]
    conversions = outcome["conversions"]
    lines = ["# Export benchmark", "", "Command (from the repository root):", "", "```", command, "```", "",
             f"Model: `{model_dir}`; {outcome['rows']} held-out eval texts of the bundled corpus in "
             f"{len(outcome['languages'])} languages. Every number in one run, on {facts.get('threads')} threads.",
             "", "## Machine", "", *markdown_facts(facts), "",
             "## Side by side", "", *_main_table(results, saved_model), "",
             "Gate (issue 15): float artefacts top-1 agreement 100% and max |Δprob| ≤ 1e-3 in every language; int8 "
             "per-language macro-F1 within 1 point of the SavedModel's and agreement ≥ 98%.", "",
             f"Conversion seconds: {conversions['seconds']}; ONNX fusions matched: {conversions['fusions'] or 'none'}",
             ""]
    if conversions["errors"]:
        lines += ["Conversion errors:", ""] + [f"- {name}: {error}" for name, error in conversions["errors"].items()]
        lines.append("")
    lines += ["## Per language (macro-F1 against the true labels / top-1 agreement with the SavedModel)", "",
              *_language_table(results, outcome["languages"]), "", "## Runtimes", "",
              *_runtime_lines(runtimes, edges)]
    return "\n".join(lines) + "\n"
