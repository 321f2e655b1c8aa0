"""Where a single short text's milliseconds go in the served graph (issue 14), on the real e5-small weights.

    .venv/bin/python benchmarks/latency_profile.py [--calls 200] [--output benchmarks/results/latency_profile.md]

Builds the 12-layer classifier (pretrained e5-small weights, a random head: latency does not depend on the
head's values), exports it as the Trainer does (`export.ServingModule`, with the benchmark's stand-in for
Transform's layer: the same in-graph tokenizer) and times, in one process, side by side:
  * the exported `serving_default` signature, loaded back (what `nlp2prod serve` and TF Serving run);
  * its parts: the tokenizer layer alone, and the classifier alone on ready piece ids;
  * the classifier compiled with XLA (`jit_compile`), to separate per-op cost from arithmetic and weight
    traffic, and the classifier with bfloat16 kernels (half the weight bytes read per call);
  * the op count of each graph.
p50 of single calls at 4, 16 and 64 tokens, and batch-32 throughput (16-token texts).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from typing import Callable, Dict, List

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tensorflow_text  # noqa: E402,F401

LENGTHS = (4, 16, 64)
WORDS = "the food was excellent and we would like to come back again tomorrow with friends".split()


def text_of(tokens: int) -> str:
    """A text of about `tokens` pieces (with bos, eos and the query prefix)."""
    return " ".join(WORDS[i % len(WORDS)] for i in range(max(1, tokens - 5)))


def p50_ms(call: Callable[[], object], calls: int) -> float:
    for _ in range(5):
        call()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def op_count(concrete) -> int:
    graph = concrete.graph.as_graph_def()
    return len(graph.node) + sum(len(f.node_def) for f in graph.library.function)


def build(checkpoint_name: str = "e5-small"):
    from benchmarks.model_corpus import Preprocessing, raw_feature_spec
    from data.bundled import BUNDLED_LABELS
    from models.classifier import classifier, export
    from models.encoder import load_checkpoint
    from models.tokenizer.text_encoder import load_tokenizer_asset, make_tokenizer, tokenize

    checkpoint = load_checkpoint(checkpoint_name)
    model = classifier.build_classifier(checkpoint, len(BUNDLED_LABELS))
    asset = load_tokenizer_asset(checkpoint_name)
    prefix = tuple(int(i) for i in tokenize(make_tokenizer(asset), asset, tf.constant(["query: "])).flat_values)
    preprocessing = Preprocessing(asset, 64, BUNDLED_LABELS)
    remap = np.arange(checkpoint.config.vocab_size, dtype=np.int32)
    module = export.ServingModule(model, preprocessing, raw_feature_spec(), remap, BUNDLED_LABELS, prefix)
    directory = export.export_saved_model(module, os.path.join(tempfile.mkdtemp(), "1"))
    return model, preprocessing, directory


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--output", default="benchmarks/results/latency_profile.md")
    args = parser.parse_args(argv)
    load_start = os.getloadavg()[0]
    model, preprocessing, directory = build()
    from models.classifier.training import predictor

    served = tf.saved_model.load(directory).signatures["serving_default"]
    classifier_fn = predictor(model)
    xla_fn = tf.function(lambda ids, mask: model({"input_ids": ids, "input_mask": mask}, training=False),
                         jit_compile=True)
    from models.classifier.classifier import bfloat16_copy
    bf16_fn = predictor(bfloat16_copy(model))
    tokenizer_fn = tf.function(lambda text: preprocessing({"text": text}))
    rows: List[Dict[str, object]] = []
    for tokens in LENGTHS:
        text = tf.constant([text_of(tokens)])
        encoded = preprocessing({"text": text})
        length = int(encoded["input_mask"].numpy().sum()) + 3
        ids = tf.ones([1, length], tf.int32) * 1000
        mask = tf.ones([1, length], tf.int32)
        rows.append({"tokens": length,
                     "serving_default (exported, loaded)": p50_ms(lambda: served(text=text), args.calls),
                     "tokenizer layer alone": p50_ms(lambda: tokenizer_fn(text), args.calls),
                     "classifier alone (fp32)": p50_ms(lambda: classifier_fn(ids, mask), args.calls),
                     "classifier alone, XLA jit_compile": p50_ms(lambda: xla_fn(ids, mask), args.calls),
                     "classifier alone, bfloat16 kernels": p50_ms(lambda: bf16_fn(ids, mask), args.calls)})
    batch = tf.constant([text_of(16)] * 32)
    throughput = 32 / (p50_ms(lambda: served(text=batch), max(10, args.calls // 10)) / 1000)
    counts = {"serving_default": op_count(served),
              "classifier": op_count(classifier_fn.get_concrete_function(
                  tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None, None], tf.int32)))}
    weight_bytes = sum(int(np.prod(w.shape)) * 4 for w in model.weights if "embeddings/word" not in w.name)
    write(args.output, rows, throughput, counts, weight_bytes, load_start, os.getloadavg()[0], " ".join(sys.argv))


def write(output, rows, throughput, counts, weight_bytes, load_start, load_end, command) -> None:
    columns = [key for key in rows[0] if key != "tokens"]
    lines = ["# Single-text latency: where the milliseconds go", "",
             f"Command: `{command}`; 1-minute load average {load_start:.2f} at start, {load_end:.2f} at end"
             f"{' (NOT QUIET: shared machine)' if max(load_start, load_end) > 1.5 else ''}.", "",
             "p50 of single calls, milliseconds:", "",
             "| tokens | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for row in rows:
        lines.append(f"| {row['tokens']} | " + " | ".join(f"{row[c]:.2f}" for c in columns) + " |")
    lines += ["", f"batch-32 throughput of serving_default (16-token texts): {throughput:.1f} texts/s", "",
              f"ops: serving_default graph {counts['serving_default']} (with nested functions), classifier "
              f"{counts['classifier']}", "",
              f"non-embedding float32 weights read per call: {weight_bytes / 1e6:.1f} MB"]
    with open(output, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
