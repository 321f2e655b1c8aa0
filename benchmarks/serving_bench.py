"""Serving benchmark: one run, one model. In-process SavedModel call vs nlp2prod's server (gRPC and REST, batching
off and on, several concurrencies) vs a naive Flask wrapper, with the targets of issue 6 judged side by side.

    .venv/bin/python benchmarks/serving_bench.py [MODEL] [--duration 5] [--output benchmarks/results/serving.md]

MODEL is a SavedModel version dir or a base path of version dirs; without it the newest version under
.nlp2prod/serving/nlp2prod is used, else the serving tests' tiny model is exported to a temp dir (the output
says which). Everything listens on 127.0.0.1 only; every point is bounded by --duration and --max-requests.
REST load comes from wrk (`apt-get install -y wrk`), gRPC load from a grpc.aio client on the official stubs.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import time
from typing import Dict, Optional, Sequence, Tuple

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import load_generators as load  # noqa: E402
import machine  # noqa: E402
import serving_report  # noqa: E402
import server_processes  # noqa: E402
from served_model import SAMPLE_TEXTS, ModelNotFoundError, resolve_model  # noqa: E402

MODEL_NAME = "nlp2prod"
DEFAULT_OUTPUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "serving.md")


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", help="SavedModel version dir or base path (default: see above)")
    parser.add_argument("--duration", type=float, default=5.0, help="measured seconds per point")
    parser.add_argument("--max-requests", type=int, default=50000, help="most requests measured per point")
    parser.add_argument("--concurrency", default="1,4,16,64", help="comma-separated client concurrencies")
    parser.add_argument("--batch-sizes", default="1,2,4,8,16,32,64,128", help="in-process batch sizes swept")
    parser.add_argument("--max-batch-size", type=int, default=32, help="server batching: max_batch_size")
    parser.add_argument("--batch-timeout-micros", type=int, default=0, help="server batching: batch_timeout")
    parser.add_argument("--num-batch-threads", type=int, default=2, help="server batching: num_batch_threads")
    parser.add_argument("--quiet-load", type=float, default=1.0, help="1-min load average that counts as quiet")
    parser.add_argument("--quiet-wait", type=float, default=0.0, help="seconds to wait for a quiet CPU first")
    parser.add_argument("--output", default=DEFAULT_OUTPUT, help="markdown results file ('' to skip)")
    return parser.parse_args(argv)


class InProcessModel:
    """The SavedModel's serving_default called directly in this process (tf.constant in, numpy out)."""

    def __init__(self, version_dir: str, texts: Sequence[str]):
        import tensorflow as tf
        import tensorflow_text  # noqa: F401  (registers the TF Text ops of the exported graph)

        self._tf, self._texts = tf, list(texts)
        self._signature = tf.saved_model.load(version_dir).signatures["serving_default"]

    def measure(self, batch: int, duration: float, max_requests: int) -> load.Measurement:
        texts = self._texts
        batches = itertools.cycle([[texts[(start + i) % len(texts)] for i in range(batch)]
                                   for start in range(len(texts))])

        def call():
            outputs = self._signature(text=self._tf.constant(next(batches)))
            return {name: value.numpy() for name, value in outputs.items()}

        result = load.timed_loop(call, duration, max_requests, batch=batch)
        print(f"  in-process batch {batch:>4}: {serving_report.point_line(result)}", flush=True)
        return result

    def sweep(self, batch_sizes: Sequence[int], duration: float, max_requests: int) -> Dict[int, load.Measurement]:
        """Every batch size once, each for the full duration (large batches need it for more than a few calls)."""
        return {batch: self.measure(batch, duration, max_requests) for batch in batch_sizes}

    def single_call(self):
        """One single-text call per invocation, rotating through the texts (for interleaved measurements)."""
        rotation = itertools.cycle(self._texts)
        return lambda: {name: value.numpy() for name, value in
                        self._signature(text=self._tf.constant([next(rotation)])).items()}

    def measure_references(self, duration: float, max_requests: int) -> Tuple[load.Measurement, load.Measurement]:
        """The single-text call and the call at the target concurrency's batch size, measured again."""
        return (self.measure(1, duration, max_requests),
                self.measure(serving_report.TARGET_CONCURRENCY, duration, max_requests))


def measure_our_server(model, batching_file: Optional[str], concurrencies: Sequence[int], duration: float,
                       max_requests: int, texts: Sequence[str], direct: Optional["InProcessModel"] = None,
                       floor_hold_ms: float = 0.0
                       ) -> Tuple[Dict[Tuple[str, int], load.Measurement], Dict[str, load.Measurement]]:
    """Every (protocol, concurrency) point; with `direct`, also single calls interleaved with the in-process
    call for 3 × `duration` (the latency targets), and with a constant-answer gRPC server that holds each call
    `floor_hold_ms`: (points, {"in-process"|"gRPC"|"REST"|HELD_FLOOR: Measurement})."""
    mode = "on" if batching_file else "off"
    results, interleaved = {}, {}
    requests, bodies = load.predict_requests(MODEL_NAME, texts), load.rest_bodies(texts)
    with server_processes.our_server(MODEL_NAME, model.base_path, batching_file) as server:
        url = f"{server['rest']}/v1/models/{MODEL_NAME}:predict"
        if direct is not None:
            with server_processes.grpc_floor_server(aio=False, hold_ms=floor_hold_ms) as floor:
                interleaved = load.interleaved_latency(
                    {"in-process": direct.single_call(), "gRPC": load.grpc_predict_call(server["grpc"], requests),
                     "REST": load.rest_predict_call(url, bodies),
                     serving_report.HELD_FLOOR: load.grpc_predict_call(floor["grpc"], requests)},
                    3 * duration, max_requests)
            for name, m in interleaved.items():
                print(f"  interleaved {name:<10}: {serving_report.point_line(m)}", flush=True)
        for protocol, concurrency in itertools.product(("gRPC", "REST"), concurrencies):
            m = (load.grpc_load(server["grpc"], requests, concurrency, duration, max_requests) if protocol == "gRPC"
                 else load.wrk_load(url, bodies, concurrency, duration))
            results[(protocol, concurrency)] = m
            print(f"  {protocol} batching {mode:<3} c={concurrency:<3}: {serving_report.point_line(m)}", flush=True)
    return results, interleaved


def measure_grpc_floor(concurrencies: Sequence[int], duration: float, max_requests: int,
                       texts: Sequence[str]) -> Dict[Tuple[str, int], load.Measurement]:
    """The same gRPC client against constant-answer servers (thread-pool and asyncio): grpcio's own cost."""
    results = {}
    requests = load.predict_requests(MODEL_NAME, texts)
    for kind in ("thread pool", "asyncio"):
        with server_processes.grpc_floor_server(aio=kind == "asyncio") as server:
            for concurrency in concurrencies:
                results[(kind, concurrency)] = load.grpc_load(server["grpc"], requests, concurrency, duration,
                                                              max_requests)
                print(f"  gRPC floor ({kind}) c={concurrency:<3}: "
                      f"{serving_report.point_line(results[(kind, concurrency)])}", flush=True)
    return results


def measure_naive(version_dir: str, concurrencies: Sequence[int], duration: float,
                  texts: Sequence[str]) -> Dict[int, load.Measurement]:
    results = {}
    with server_processes.naive_flask_server(version_dir) as server:
        for concurrency in concurrencies:
            results[concurrency] = load.wrk_load(server["url"], load.rest_bodies(texts), concurrency, duration)
            print(f"  naive Flask c={concurrency:<3}: {serving_report.point_line(results[concurrency])}", flush=True)
    return results


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    try:
        load.wrk_path()
        model = resolve_model(args.model)
    except (load.LoadGeneratorError, ModelNotFoundError) as error:
        print(f"serving_bench: {error}", file=sys.stderr)
        return 2
    quiet = machine.wait_for_quiet(args.quiet_load, args.quiet_wait)
    facts = machine.machine_info(["tensorflow", "tensorflow-text", "grpcio", "Flask", "Werkzeug"])
    facts["wrk"] = load.wrk_version()
    facts["CPU check"] = quiet
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    texts = list(SAMPLE_TEXTS)
    print(f"model: {model.description}\n{quiet}", flush=True)
    started = time.time()
    direct = InProcessModel(model.version_dir, texts)
    in_process = direct.sweep(sorted(set(batch_sizes) | {1, serving_report.TARGET_CONCURRENCY}), args.duration,
                              args.max_requests)
    # The references (single text, and batch 16: the largest batch 16 one-text clients can form) are measured
    # again between phases: neighbours' load drifts during a run; the ratios use the medians of these.
    references = [(in_process[1], in_process[serving_report.TARGET_CONCURRENCY])]
    server_results = {}
    floor_hold_ms = in_process[1].p50_ms
    server_results["off"], interleaved = measure_our_server(model, None, concurrencies, args.duration,
                                                            args.max_requests, texts, direct, floor_hold_ms)
    references.append(direct.measure_references(args.duration, args.max_requests))
    with tempfile.TemporaryDirectory(prefix="nlp2prod-batching-") as folder:
        batching_file = server_processes.write_batching_file(
            folder, args.max_batch_size, args.batch_timeout_micros, args.num_batch_threads,
            max_enqueued_batches=max(64, 4 * max(concurrencies)))
        with open(batching_file, encoding="utf-8") as handle:
            batching_text = handle.read()
        server_results["on"], _ = measure_our_server(model, batching_file, concurrencies, args.duration,
                                                     args.max_requests, texts)
    references.append(direct.measure_references(args.duration, args.max_requests))
    naive = measure_naive(model.version_dir, concurrencies, args.duration, texts)
    floor = measure_grpc_floor([c for c in concurrencies if c in (1, serving_report.TARGET_CONCURRENCY)],
                               args.duration, args.max_requests, texts)
    references.append(direct.measure_references(args.duration, args.max_requests))
    machine.add_end_facts(facts, started)
    report = serving_report.ServingReport(
        command=machine.command_line(), model=model.description, facts=facts, settings=vars(args),
        batching_text=batching_text, in_process=in_process, server=server_results, naive=naive,
        grpc_floor=floor, single_references=[single for single, _ in references],
        batch_references=[batched for _, batched in references], interleaved=interleaved,
        floor_hold_ms=floor_hold_ms)
    machine.publish(report.markdown(), args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
