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


def p50_ms(call: Callable[[], object], calls: int) -> str:
    """'wall p50 / CPU p50' in ms: with one TF thread, the CPU time of a call is its work, unlike the wall time
    which on a shared machine also holds the wait for a core."""
    for _ in range(5):
        call()
    wall, cpu = [], []
    for _ in range(calls):
        start, start_cpu = time.perf_counter(), time.process_time()
        call()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return f"{1000 * statistics.median(wall):.2f} / {1000 * statistics.median(cpu):.2f}"


def op_types(concrete, top: int = 12) -> str:
    """The most frequent op types of a graph and its nested functions."""
    import collections
    graph = concrete.graph.as_graph_def()
    counts = collections.Counter(node.op for node in graph.node)
    for function in graph.library.function:
        counts.update(node.op for node in function.node_def)
    return ", ".join(f"{op} {n}" for op, n in counts.most_common(top))


def op_count(concrete) -> int:
    graph = concrete.graph.as_graph_def()
    return len(graph.node) + sum(len(f.node_def) for f in graph.library.function)


def build(checkpoint_name: str = "e5-small", vocab_rows: int = 30000):
    from benchmarks.model_corpus import Preprocessing, raw_feature_spec
    from data.bundled import BUNDLED_LABELS
    from models.classifier import classifier, export
    from models.encoder import load_checkpoint
    from models.tokenizer.text_encoder import load_tokenizer_asset, make_tokenizer, tokenize

    from models.classifier import vocabulary_trim
    checkpoint = load_checkpoint(checkpoint_name)
    # The first `vocab_rows` rows only: a call's cost does not depend on the embedding's row count (one gather),
    # and the export stays small enough to write on a shared machine.
    keep = np.arange(min(vocab_rows, checkpoint.config.vocab_size))
    remap = np.full(checkpoint.config.vocab_size, checkpoint.vocabulary.unk_id, np.int32)
    remap[keep] = keep
    trim = vocabulary_trim.VocabularyTrim(kept_ids=keep.astype(np.int32), remap=remap,
                                          unk_id=checkpoint.vocabulary.unk_id)
    model = classifier.build_classifier(vocabulary_trim.trimmed_checkpoint(checkpoint, trim), len(BUNDLED_LABELS))
    asset = load_tokenizer_asset(checkpoint_name)
    prefix = tuple(int(i) for i in tokenize(make_tokenizer(asset), asset, tf.constant(["query: "])).flat_values)
    preprocessing = Preprocessing(asset, 64, BUNDLED_LABELS)
    module = export.ServingModule(model, preprocessing, raw_feature_spec(), remap, BUNDLED_LABELS, prefix)
    directory = export.export_saved_model(module, os.path.join(tempfile.mkdtemp(), "1"))
    return model, preprocessing, directory


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--output", default="benchmarks/results/latency_profile.md")
    parser.add_argument("--threads", type=int, default=1, help="TF intra- and inter-op threads (0: TF default)")
    args = parser.parse_args(argv)
    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
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
    batch_wall = float(p50_ms(lambda: served(text=batch), max(10, args.calls // 10)).split(" / ")[0])
    throughput = 32 / (batch_wall / 1000)
    classifier_graph = classifier_fn.get_concrete_function(tf.TensorSpec([None, None], tf.int32),
                                                           tf.TensorSpec([None, None], tf.int32))
    counts = {"serving_default": op_count(served), "classifier": op_count(classifier_graph),
              "types": op_types(classifier_graph)}
    weight_bytes = sum(int(np.prod(w.shape)) * 4 for w in model.weights if "embeddings/word" not in w.name)
    write(args.output, rows, throughput, counts, weight_bytes, load_start, os.getloadavg()[0], " ".join(sys.argv))


def write(output, rows, throughput, counts, weight_bytes, load_start, load_end, command) -> None:
    columns = [key for key in rows[0] if key != "tokens"]
    lines = ["# Single-text latency: where the milliseconds go", "",
             f"Command: `{command}`; 1-minute load average {load_start:.2f} at start, {load_end:.2f} at end"
             f"{' (NOT QUIET: shared machine)' if max(load_start, load_end) > 1.5 else ''}.", "",
             "p50 of single calls, milliseconds, wall / CPU time of the call (one TF thread unless --threads):", "",
             "| tokens | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for row in rows:
        lines.append(f"| {row['tokens']} | " + " | ".join(row[c] for c in columns) + " |")
    lines += ["", f"batch-32 throughput of serving_default (16-token texts): {throughput:.1f} texts/s", "",
              f"ops: serving_default graph {counts['serving_default']} (with nested functions), classifier "
              f"{counts['classifier']}; classifier op types: {counts['types']}", "",
              f"non-embedding float32 weights read per call: {weight_bytes / 1e6:.1f} MB"]
    with open(output, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
