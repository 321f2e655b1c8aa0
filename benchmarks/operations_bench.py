"""Operations measurements: multi-process vs single-process Beam, and a cached re-run against the first run.

  python benchmarks/operations_bench.py beam  --data-root DIR [--workers 2] [--until TokenizationGate]
  python benchmarks/operations_bench.py cache --data-root DIR [--until NODE] [--set section.field=value ...]

`beam` runs the pipeline up to `--until` (default: the end of the data half, where all the Beam work is) twice
on fresh homes with the cache off: once with the in-memory single-process DirectRunner, once with the
multi-process DirectRunner; it prints per-component and total wall times and the speedup.
`cache` runs the pipeline on a fresh home, then twice more with unchanged inputs, and prints each re-run's wall
time divided by the first run's (the target is <= 0.10).
Both print a table and one JSON line (prefix RESULT) for the record.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tf_keras  # noqa: E402,F401  (legacy Keras before TensorFlow is imported anywhere)

from pipeline import configs, metadata_store  # noqa: E402
from pipeline.local_runner import run_once  # noqa: E402
from pipeline.pipeline import create_pipeline  # noqa: E402


def pipeline_until(last_node: str):
    """A `create_pipeline`-shaped factory keeping `last_node` and everything upstream of it (all when empty)."""

    def create(config, connection=None):
        full = create_pipeline(config, connection)
        if not last_node:
            return full
        by_id = {c.id: c for c in full.components}
        if last_node not in by_id:
            raise SystemExit(f"--until {last_node!r}: no such node (nodes: {', '.join(by_id)})")
        keep, stack = set(), [by_id[last_node]]
        while stack:
            node = stack.pop()
            if node.id not in keep:
                keep.add(node.id)
                stack.extend(node.upstream_nodes)
        kept = [c for c in full.components if c.id in keep]
        for node in kept:
            for dropped in [d for d in node.downstream_nodes if d.id not in keep]:
                node.remove_downstream_node(dropped)
        full.components = kept
        return full

    return create


def run_timed(config, factory) -> dict:
    """One run: its record, process-side wall seconds and per-node seconds from MLMD."""
    started = time.monotonic()
    record = run_once(config, factory, trigger="benchmark")
    wall = time.monotonic() - started
    if record.outcome in ("failed", "skipped"):
        raise SystemExit(f"run failed: {record.summary()}")
    nodes = metadata_store.execution_seconds(metadata_store.open_store(config.metadata_path, read_only=True),
                                             record.run_id)
    return {"run_id": record.run_id, "wall_s": round(wall, 2), "nodes": {k: round(v, 2) for k, v in nodes.items()}}


def fresh_config(args, beam_args, enable_cache=True) -> configs.RunConfig:
    home = tempfile.mkdtemp(prefix="nlp2prod-bench-")
    config = configs.RunConfig(home=home, data=configs.DataConfig(data_root=os.path.abspath(args.data_root)),
                               push=configs.PushConfig(serving_root=os.path.join(home, "serving")),
                               enable_cache=enable_cache, beam_args=tuple(beam_args))
    return configs.with_overrides(config, args.overrides)


def beam(args) -> dict:
    factory = pipeline_until(args.until)
    modes = {"single-process": configs.RunConfig().beam_args,
             "multi-process": configs.multiprocess_beam_args(args.workers)}
    results = {mode: run_timed(fresh_config(args, beam_args, enable_cache=False), factory)
               for mode, beam_args in modes.items()}
    single, multi = results["single-process"], results["multi-process"]
    print(f"{'component':<22}{'single s':>10}{'multi s':>10}")
    for node in single["nodes"]:
        print(f"{node:<22}{single['nodes'][node]:>10.1f}{multi['nodes'].get(node, 0.0):>10.1f}")
    print(f"{'run total':<22}{single['wall_s']:>10.1f}{multi['wall_s']:>10.1f}")
    speedup = single["wall_s"] / multi["wall_s"]
    print(f"speedup (single / multi, {args.workers} workers): {speedup:.2f}x")
    return {"benchmark": "beam", "workers": args.workers, "until": args.until, "speedup": round(speedup, 3),
            **results}


def cache(args) -> dict:
    factory = pipeline_until(args.until)
    config = fresh_config(args, configs.RunConfig().beam_args)
    runs = [run_timed(config, factory) for _ in range(3)]
    ratios = [round(run["wall_s"] / runs[0]["wall_s"], 4) for run in runs[1:]]
    for label, run in zip(("first", "re-run 1", "re-run 2"), runs):
        print(f"{label:<10}{run['wall_s']:>8.1f} s   " + ", ".join(f"{n} {s:.1f}" for n, s in run["nodes"].items()))
    print(f"cached re-run / first run: {ratios[0]:.3f} (re-run 1), {ratios[1]:.3f} (re-run 2); target <= 0.10")
    return {"benchmark": "cache", "until": args.until, "ratios": ratios, "runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("benchmark", choices=("beam", "cache"))
    parser.add_argument("--data-root", required=True, help="data root with span-N/ folders")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="multi-process Beam workers")
    parser.add_argument("--until", default="", help="last node to run (beam default: TokenizationGate)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.FIELD=VALUE")
    args = parser.parse_args()
    if args.benchmark == "beam" and not args.until:
        args.until = "TokenizationGate"
    result = beam(args) if args.benchmark == "beam" else cache(args)
    print("RESULT " + json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
