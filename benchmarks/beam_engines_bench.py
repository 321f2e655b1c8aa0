"""The data half on three Beam engines: DirectRunner in memory, the multi-process DirectRunner, and the portable
runner (Beam's job server + an EXTERNAL worker pool, each its own process) — wall time and peak memory.

  .venv/bin/python benchmarks/beam_engines_bench.py [--workers 2] [--output benchmarks/results/beam_engines.md]

The bundled corpus (every language and topic) is written once as span 1; each engine then runs the data half
(SpanExampleGen → … → Transform → TokenizationGate, cache off) in a fresh process on a fresh home. Peak memory is
the highest sum of RSS over that process and all its descendants (job server, worker pool, SDK workers), sampled
every 0.2 s; the main process's own peak is shown beside it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Tuple

import psutil

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import machine  # noqa: E402

ENGINES = ("direct", "multiprocess", "portable")
_SAMPLE_S = 0.2


def run_engine(engine: str, data_root: str, home: str, workers: int) -> None:
    """Child side: runs the data half on one engine (imports TFX only here)."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    import tf_keras  # noqa: F401  (legacy Keras before TensorFlow is imported anywhere)
    from tfx import v1 as tfx

    from pipeline import pipeline as pipeline_module
    from pipeline.configs import DataConfig, OpsConfig, RunConfig
    from pipeline.runners.beam import beam_args_for
    from pipeline.runners.portable import portable_run

    config = RunConfig(home=home, data=DataConfig(data_root=data_root), enable_cache=False,
                       ops=OpsConfig(beam_target=engine, beam_workers=workers))
    with portable_run(config, os.path.join(home, "logs")) as run_config:
        beam_args = beam_args_for(run_config.ops, engine)
        tfx.orchestration.LocalDagRunner().run(tfx.dsl.Pipeline(
            pipeline_name="data-half", pipeline_root=run_config.pipeline_root,
            components=pipeline_module._data_half(run_config), enable_cache=False, beam_pipeline_args=list(beam_args),
            metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
                run_config.metadata_path)))


def measure(engine: str, data_root: str, home: str, workers: int) -> Dict[str, float]:
    """Parent side: runs the child, sampling the RSS of its process tree; returns seconds and peaks (GiB)."""
    argv = [sys.executable, os.path.abspath(__file__), "--child", engine, "--data-root", data_root, "--home", home,
            "--workers", str(workers)]
    log_path = os.path.join(home + ".log")
    started = time.monotonic()
    with open(log_path, "w", encoding="utf-8") as log:
        child = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        tree_peak, main_peak, processes = 0, 0, 1
        parent = psutil.Process(child.pid)
        while child.poll() is None:
            tree, main, count = _rss(parent)
            tree_peak, main_peak, processes = max(tree_peak, tree), max(main_peak, main), max(processes, count)
            time.sleep(_SAMPLE_S)
    seconds = time.monotonic() - started
    if child.returncode != 0:
        with open(log_path, encoding="utf-8") as handle:
            raise SystemExit(f"{engine} failed ({child.returncode}); log {log_path}:\n{handle.read()[-3000:]}")
    return {"seconds": seconds, "tree_gib": tree_peak / 2 ** 30, "main_gib": main_peak / 2 ** 30,
            "processes": processes}


def _rss(parent: psutil.Process) -> Tuple[int, int, int]:
    try:
        main = parent.memory_info().rss
        children = parent.children(recursive=True)
    except psutil.NoSuchProcess:
        return 0, 0, 0
    total = main
    for process in children:
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total, main, 1 + len(children)


def report(results: Dict[str, Dict[str, float]], facts: Dict[str, str], rows: int, workers: int) -> str:
    lines = ["# The data half on three Beam engines", "",
             f"Bundled corpus: {rows} rows (9 languages, 10 topics), span 1; data half with the cache off; "
             f"{workers} workers for the multi-process and portable runs.", "",
             "| engine | wall s | peak RSS, process tree (GiB) | peak RSS, main process (GiB) | most processes |",
             "|---|---|---|---|---|"]
    labels = {"direct": "DirectRunner, in memory", "multiprocess": f"DirectRunner, multi_processing × {workers}",
              "portable": f"PortableRunner → job server + EXTERNAL worker pool, {workers} SDK workers per job"}
    for engine, result in results.items():
        lines.append(f"| {labels[engine]} | {result['seconds']:.1f} | {result['tree_gib']:.2f} | "
                     f"{result['main_gib']:.2f} | {result['processes']} |")
    lines += ["", "Each engine ran in its own process, one after the other, on the same machine; wall time includes "
              "starting that process (TF/TFX imports) and, for the portable runner, its two servers.", "",
              "## Machine and command", ""] + machine.markdown_facts(facts)
    return "\n".join(lines) + "\n"


def main(argv: List[str] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--output", default="benchmarks/results/beam_engines.md")
    parser.add_argument("--child", choices=ENGINES, help=argparse.SUPPRESS)
    parser.add_argument("--data-root", help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        run_engine(args.child, args.data_root, args.home, args.workers)
        return 0
    from data import bundled
    from pipeline.configs import BUNDLED_LABELS, BUNDLED_LANGUAGES

    started = time.time()
    facts = {"command": machine.command_line(), **machine.machine_info(["apache-beam", "tfx"])}
    work = tempfile.mkdtemp(prefix="beam-engines-")
    rows = bundled.read_corpus(BUNDLED_LANGUAGES, BUNDLED_LABELS)
    bundled.write_span(rows, os.path.join(work, "data"), 1)
    results = {}
    for engine in args.engines.split(","):
        print(f"running the data half on {engine} ...", flush=True)
        results[engine] = measure(engine, os.path.join(work, "data"), os.path.join(work, engine), args.workers)
        print(f"  {results[engine]['seconds']:.1f} s, peak {results[engine]['tree_gib']:.2f} GiB", flush=True)
    machine.add_end_facts(facts, started)
    machine.publish(report(results, facts, len(rows), args.workers), args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
