"""Two or more pushed SavedModels side by side in one process: the graph an older commit pushed against today's.

    .venv/bin/python benchmarks/savedmodel_compare.py NAME=VERSION_DIR NAME=VERSION_DIR [...] \
        [--calls 100] [--rounds 3] [--duration 3] [--output benchmarks/results/savedmodel_compare.md]

Each model is called through its raw-text `serving_default` (what `nlp2prod serve` and TF Serving run), the
tokenizer included: the single-text p50 at about 4, 16 and 64 pieces and the batch-32 throughput of 16-piece
texts, in interleaved rounds (every model in turn, every round) so that drift on a shared machine hits them
alike; each ratio is the median of the per-round ratios to the first model. Accuracy: the `label` output on the
hand-written out-of-corpus set (data/out_of_corpus, every language), where the model has one. Sizes: the SavedModel's own
bytes on disk, without the edge exports a pushed version carries in assets.extra/exports.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from typing import Dict, List, Optional, Sequence

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import export_measure  # noqa: E402
import machine  # noqa: E402
from data import out_of_corpus  # noqa: E402
from latency_profile import LENGTHS, text_of  # noqa: E402

DEFAULT_OUTPUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "savedmodel_compare.md")
BATCH = 32


class ServedGraph:
    """A version dir's serving_default, raw strings in, every output fetched as numpy."""

    def __init__(self, version_dir: str):
        import tensorflow as tf
        import tensorflow_text  # noqa: F401  (registers the TF Text ops of the exported graph)

        started = time.perf_counter()
        self._tf = tf
        self._signature = tf.saved_model.load(version_dir).signatures["serving_default"]
        self.load_seconds = time.perf_counter() - started
        (self._input,) = self._signature.structured_input_signature[1]
        self.bytes = export_measure.saved_model_own_bytes(version_dir)

    def probabilities(self, texts: Sequence[str]):
        outputs = self._signature(**{self._input: self._tf.constant(list(texts))})
        return {name: value.numpy() for name, value in outputs.items()}

    def out_of_corpus_accuracy(self) -> Optional[Dict[str, float]]:
        """Accuracy of the `label` output per language of the out-of-corpus set and "all" (None without one)."""
        if "label" not in self._signature.structured_outputs:
            return None
        sentences = out_of_corpus.load()
        predicted = []
        for start in range(0, len(sentences), BATCH):
            batch = sentences[start:start + BATCH]
            predicted += [label.decode() for label in self.probabilities([s.text for s in batch])["label"]]
        right: Dict[str, List[bool]] = {}
        for sentence, label in zip(sentences, predicted):
            right.setdefault(sentence.lang, []).append(label == sentence.label)
        accuracy = {lang: sum(values) / len(values) for lang, values in sorted(right.items())}
        hits = [hit for values in right.values() for hit in values]
        accuracy["all"] = sum(hits) / len(hits)
        return accuracy


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="NAME=VERSION_DIR, the first is the reference")
    parser.add_argument("--calls", type=int, default=100, help="single calls per length, model and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=3.0, help="seconds of batch-32 calls per model and round")
    parser.add_argument("--output", default=DEFAULT_OUTPUT, help="markdown results file ('' to skip)")
    args = parser.parse_args(argv)
    for spec in args.models:
        name, _, path = spec.partition("=")
        if not name or not os.path.isfile(os.path.join(path, "saved_model.pb")):
            parser.error(f"{spec!r}: expected NAME=VERSION_DIR with a saved_model.pb in VERSION_DIR")
    if len(args.models) < 2:
        parser.error("give at least two models")
    return args


def measure(models: Dict[str, ServedGraph], calls: int, rounds: int, duration: float) -> Dict[str, Dict]:
    single: Dict[int, Dict[str, List[float]]] = {n: {name: [] for name in models} for n in LENGTHS}
    names = list(models)
    for round_index in range(rounds):
        order = names[round_index % len(names):] + names[:round_index % len(names)]
        for tokens in LENGTHS:
            for name in order:
                single[tokens][name].append(export_measure.single_text_p50_ms(models[name], [text_of(tokens)], calls))
        print(f"  round {round_index + 1}: single p50 "
              + "; ".join(f"{name} {', '.join(str(single[n][name][-1]) for n in LENGTHS)} ms" for name in names),
              flush=True)
    throughput = export_measure.throughput_rounds(models, [text_of(16)] * BATCH, BATCH, duration, rounds)
    first = names[0]
    return {name: {
        "bytes": models[name].bytes, "load_s": round(models[name].load_seconds, 2),
        "out_of_corpus": models[name].out_of_corpus_accuracy(),
        "single": {n: statistics.median(single[n][name]) for n in LENGTHS},
        "single_rounds": {n: single[n][name] for n in LENGTHS},
        "single_vs_first": {n: round(statistics.median(a / b for a, b in zip(single[n][name], single[n][first])), 3)
                            for n in LENGTHS},
        **throughput[name]} for name in names}


def render(results: Dict[str, Dict], facts: Dict[str, str], command: str, paths: Dict[str, str]) -> str:
    lengths = " | ".join(f"p50 ms, {n} pieces" for n in LENGTHS)
    lines = ["# Pushed SavedModels side by side", "", "Command (from the repository root):", "", "```", command, "```",
             "", "## Machine", "", *machine.markdown_facts(facts), "", "## Models", "",
             *[f"- {name}: `{path}`" for name, path in paths.items()], "",
             f"Single-text p50: the median of the rounds' p50s (each round: calls of one text); batch {BATCH}: "
             "texts/s, median of the rounds. Ratios: the median of per-round ratios to the first model (for "
             "latency, < 1 is faster; for throughput, > 1 is faster).", "",
             f"| model | SavedModel MB | load s | {lengths} | texts/s (batch {BATCH}) |",
             "|---|---:|---:|" + "---:|" * len(LENGTHS) + "---:|"]
    for name, r in results.items():
        cells = " | ".join(f"{r['single'][n]:.2f} ({r['single_vs_first'][n]:.2f}x)" for n in LENGTHS)
        lines.append(f"| {name} | {r['bytes'] / 1e6:.1f} | {r['load_s']} | {cells} | "
                     f"{r['batch32_texts_per_s']:.1f} ({r['vs_first']:.2f}x) |")
    accuracies = {name: r["out_of_corpus"] for name, r in results.items() if r["out_of_corpus"]}
    if accuracies:
        languages = next(iter(accuracies.values()))
        lines += ["", "Out-of-corpus accuracy (`label` output, data/out_of_corpus):", "",
                  "| language | " + " | ".join(accuracies) + " |", "|---|" + "---:|" * len(accuracies)]
        lines += [f"| {lang} | " + " | ".join(f"{a.get(lang, float('nan')):.3f}" for a in accuracies.values()) + " |"
                  for lang in languages]
    lines += ["", "Per round:", ""]
    for name, r in results.items():
        rounds = "; ".join(f"{n} pieces: {', '.join(str(v) for v in r['single_rounds'][n])} ms" for n in LENGTHS)
        lines.append(f"- {name}: {rounds}; batch {BATCH}: {', '.join(str(v) for v in r['batch32_rounds'])} texts/s")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    args = parse_args(argv)
    paths = dict(spec.partition("=")[::2] for spec in args.models)
    facts = machine.machine_info(["tensorflow", "tensorflow-text"])
    started = time.time()
    models = {name: ServedGraph(path) for name, path in paths.items()}
    results = measure(models, args.calls, args.rounds, args.duration)
    machine.add_end_facts(facts, started)
    machine.publish(render(results, facts, machine.command_line(), paths), args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
