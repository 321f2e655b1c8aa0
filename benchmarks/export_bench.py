"""Export benchmark: the SavedModel (TF) beside its ONNX fp32 / int8 (each recipe) and TFLite fp16 / int8 exports.

    .venv/bin/python benchmarks/export_bench.py MODEL_DIR [--max-rows-per-topic 12] [--edge-venv /tmp/edge-venv]
        [--export-dir DIR] [--duration 3] [--rounds 3] [--output benchmarks/results/export.md]

MODEL_DIR is a SavedModel of `models.classifier.export` (a pushed version, or model_bench.py's --export-dir
output). The eval texts are the model benchmark's held-out split of the bundled corpus (same cap and seed as
model_bench.py's, so a model it trained never saw them). Every artefact is converted by `models.export.converters`
and measured through `edge.runtime` on raw text (tokenization included), the SavedModel through its
`serving_default` signature; all on 2 threads. Batch-32 throughput is measured in --rounds rounds, every artefact
in turn each round, so a drift of the machine's speed hits all of them alike; the table gives medians. With
--edge-venv, two fresh venvs get only the edge runtime, one with `pip install '.[edge]'`, one (DIR-lean) with
requirements-edge.lock and --no-deps: their sizes, the import time of the edge runtime, and `nlp2prod edge
predict` on texts in several scripts.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from typing import Dict, Optional, Sequence

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
THREADS = 2

import machine  # noqa: E402
import export_measure  # noqa: E402

DEFAULT_OUTPUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "export.md")
ARTEFACT_ORDER = ("onnx_fp32", "onnx_int8", "tflite_fp16", "tflite_int8")


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", help="a SavedModel dir written by models.classifier.export")
    parser.add_argument("--max-rows-per-topic", type=int, default=12, help="model_bench.py's cap (same split)")
    parser.add_argument("--duration", type=float, default=3.0, help="seconds of each throughput measurement")
    parser.add_argument("--rounds", type=int, default=3,
                        help="throughput rounds, every artefact in turn each round (medians reported)")
    parser.add_argument("--single-calls", type=int, default=40, help="single-text calls for the p50")
    parser.add_argument("--export-dir", default="", help="keep the artefacts here (default: a temp dir)")
    parser.add_argument("--edge-venv", default="", help="build a fresh venv with only nlp2prod[edge] here")
    parser.add_argument("--output", default=DEFAULT_OUTPUT, help="markdown results file ('' to skip)")
    return parser.parse_args(argv)


def run(args: argparse.Namespace, export_dir: str) -> Dict[str, object]:
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(THREADS)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import model_corpus
    from models.classifier.candidates import EVAL
    from models.export import accuracy
    from models.export.settings import ExportSettings
    from models.export.source import load_source
    from pipeline.configs import BUNDLED_LABELS, BUNDLED_LANGUAGES

    corpus = model_corpus.load_corpus(BUNDLED_LANGUAGES, BUNDLED_LABELS, args.max_rows_per_topic)
    rows = corpus.eval
    texts, labels = [r[0] for r in rows], list(corpus.labels)
    label_ids, languages = [labels.index(r[1]) for r in rows], [r[2] for r in rows]
    print(f"eval: {len(rows)} texts in {len(set(languages))} languages", flush=True)
    started = time.perf_counter()
    source = load_source(args.model_dir)
    saved_model = export_measure.SavedModelCandidate(source, time.perf_counter() - started)
    reference = saved_model.probabilities(texts)
    candidates = {"SavedModel (TF)": saved_model}
    # The per_token int8 recipe's SmoothQuant ranges come from training texts, as in ModelExport.
    conversions = export_measure.convert_all(source, export_dir, ARTEFACT_ORDER, [r[0] for r in corpus.train])
    for name, path in conversions["files"].items():
        candidates[name] = export_measure.EdgeCandidate(name, path, source, labels, THREADS)
    settings = ExportSettings()
    results = {}
    for name, candidate in candidates.items():
        probabilities = reference if candidate is saved_model else candidate.probabilities(texts)
        measured = accuracy.per_set(reference, probabilities, label_ids, languages, [EVAL] * len(rows))
        precision = getattr(candidate, "precision", "float32")
        results[name] = {
            "bytes": candidate.bytes, "load_s": candidate.load_seconds,
            "p50_ms": export_measure.single_text_p50_ms(candidate, texts, args.single_calls),
            "accuracy": measured,
            "gate": "reference" if candidate is saved_model else
                    ("; ".join(accuracy.gate_failures(precision, measured, settings)) or "pass")}
    for name, rounds in export_measure.throughput_rounds(candidates, texts, 32, args.duration, args.rounds).items():
        results[name].update(rounds)
        print(f"  {name}: {export_measure.result_line(results[name])}", flush=True)
    export_measure.write_manifest(export_dir, source, labels, results, conversions["files"])
    return {"results": results, "conversions": conversions, "languages": sorted(set(languages)),
            "rows": len(rows), "export_dir": export_dir}


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    started = time.time()
    facts = machine.machine_info(["tensorflow", "tensorflow-text", "tf2onnx", "onnx", "onnxruntime",
                                  "tflite-runtime", "sentencepiece"])
    facts["threads"] = str(THREADS)
    export_dir = args.export_dir or tempfile.mkdtemp(prefix="export-bench-")
    outcome = run(args, export_dir)
    runtimes = export_measure.runtime_sizes()
    edges = [export_measure.edge_venv_report(args.edge_venv + suffix, export_dir, install)
             for suffix, install in (("", "extra"), ("-lean", "lean"))] if args.edge_venv else []
    machine.add_end_facts(facts, started)
    markdown = export_measure.render(outcome, runtimes, edges, facts, machine.command_line(), args.model_dir)
    machine.publish(markdown, args.output)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sys.exit(main())
