"""Where ModelExport's wall time goes: `models.export.export_model` on a real SavedModel and eval split, per stage.

    .venv/bin/python benchmarks/export_profile.py MODEL_DIR SPLIT_DIR LABELS_JSON OUT_DIR [--formats ...]

MODEL_DIR is a pushed version (or Trainer Format-Serving dir), SPLIT_DIR the eval split folder of the cleaned
examples (gzipped TFRecords, as ModelExport reads them) and LABELS_JSON a JSON list of the labels (or a
manifest.json holding "labels"). The exporter runs exactly as the component runs it; the stages are timed by
wrapping the library functions it calls (load, tokenizer parity, reference predictions, each converter, each
runtime load, each gate evaluation, the sha256 of each written file), so the same script profiles any version
of the exporter whose functions keep these names: run the copy inside the source tree to profile (it puts its
own repository first on sys.path). Prints one line per stage, the total and the load average before and after
(results: benchmarks/results/export.md, "ModelExport wall time per stage").
"""

from __future__ import annotations

import argparse
import collections
import functools
import json
import logging
import os
import sys
import time
from typing import Dict, List, Optional, Sequence

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


class StageClock:
    """Seconds per (artefact, stage); the artefact is the one the exporter last announced on its progress log."""

    def __init__(self):
        self.seconds: Dict[str, float] = collections.OrderedDict()
        self.artefact = "common"

    def wrap(self, owner, name: str, stage: str) -> None:
        original = getattr(owner, name)

        @functools.wraps(original)
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                key = f"{self.artefact}: {stage}"
                self.seconds[key] = self.seconds.get(key, 0.0) + time.perf_counter() - started

        setattr(owner, name, timed)


class ArtefactTracker(logging.Handler):
    """Follows the exporter's 'export NAME: ...' progress lines."""

    def __init__(self, clock: StageClock):
        super().__init__()
        self._clock = clock

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("export ") and ":" in message:
            self._clock.artefact = message[len("export "):].split(":")[0]


def instrument(clock: StageClock) -> None:
    """Wraps every library function of the export path whose time matters."""
    from edge import manifest, runtime
    from models.export import converters, exporter, source

    for owner, name, stage in ((exporter, "load_source", "load SavedModel"),
                               (exporter, "_tokenizer_parity", "tokenizer parity"),
                               (source.ExportSource, "reference_probabilities", "SavedModel reference"),
                               (source.ExportSource, "ids_function", "ids function"),
                               (converters, "to_onnx", "tf2onnx"), (converters, "fuse_onnx", "ORT fusion"),
                               (converters, "quantize_onnx", "int8 quantization"),
                               (converters, "to_tflite", "TFLite converter"),
                               (exporter, "load_backend", "runtime load"),
                               (runtime.EdgeModel, "probabilities", "gate evaluation"),
                               (manifest, "sha256_of", "sha256")):
        if hasattr(owner, name):
            clock.wrap(owner, name, stage)
    for name in ("to_frozen_graph", "to_onnx_graph", "to_tflite_from_graph"):
        if hasattr(converters, name):
            clock.wrap(converters, name, name)


def read_labels(path: str) -> List[str]:
    with open(path, encoding="utf-8") as handle:
        value = json.load(handle)
    return list(value["labels"] if isinstance(value, dict) else value)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir")
    parser.add_argument("split_dir")
    parser.add_argument("labels")
    parser.add_argument("out_dir")
    parser.add_argument("--formats", nargs="*", default=None)
    args = parser.parse_args(argv)
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(2)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from components.model_export.executor import eval_rows
    from models import progress
    from models.export import exporter
    from models.export.settings import ExportSettings

    clock = StageClock()
    instrument(clock)
    progress.log.addHandler(ArtefactTracker(clock))
    progress.log.setLevel(logging.INFO)
    labels = read_labels(args.labels)
    rows = eval_rows(args.split_dir, labels)
    settings = ExportSettings(formats=tuple(args.formats)) if args.formats else ExportSettings()
    print(f"load average at start: {os.getloadavg()}; {len(rows)} eval texts", flush=True)
    started = time.perf_counter()
    manifest = exporter.export_model(args.model_dir, args.out_dir, rows, labels, settings)
    total = time.perf_counter() - started
    for key, seconds in clock.seconds.items():
        print(f"{key:45s} {seconds:8.1f} s")
    print(f"{'total export_model':45s} {total:8.1f} s")
    print(f"load average at end: {os.getloadavg()}")
    print("shipped:", sorted(manifest["artefacts"]), "refused:", json.dumps(manifest["refused"], ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sys.exit(main())
