"""Load generators, each bounded by a duration and a request count: the in-process SavedModel call, a grpc.aio
client on the official tensorflow_serving stubs, wrk (Debian package) for REST, and an interleaved single-call
loop (in-process, gRPC and REST calls taking turns) for side-by-side latency ratios.

Every generator returns a `Measurement`: latencies in milliseconds as p50/p90/p99, throughput in texts per
second, and the number of failed requests. Each runs a short unmeasured warm-up first.
"""

from __future__ import annotations

import asyncio
import dataclasses
import http.client
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.parse
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

WRK_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "wrk_post.lua")
WRK_INSTALL_HINT = "wrk is not installed; install it with `apt-get install -y wrk` (Debian/Ubuntu package)"


class LoadGeneratorError(RuntimeError):
    """A load generator could not run (missing tool, unparseable output)."""


@dataclasses.dataclass(frozen=True)
class Measurement:
    """One measured point. `texts_per_s` counts texts (a batch of B texts counts B)."""

    requests: int
    texts_per_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    failures: int = 0
    batch: int = 1


def summarise(latencies_s: Sequence[float], elapsed_s: float, batch: int = 1, failures: int = 0) -> Measurement:
    values = np.asarray(latencies_s, dtype=np.float64) * 1000.0
    if values.size == 0:
        return Measurement(0, 0.0, float("nan"), float("nan"), float("nan"), failures, batch)
    p50, p90, p99 = np.percentile(values, [50, 90, 99])
    return Measurement(int(values.size), values.size * batch / elapsed_s, float(p50), float(p90), float(p99),
                       failures, batch)


def timed_loop(call: Callable[[], object], duration_s: float, max_requests: int, batch: int = 1,
               warmup: int = 20, warmup_s: float = 1.0) -> Measurement:
    """Calls `call` back to back (after `warmup` unmeasured calls, or `warmup_s` seconds of them, whichever ends
    first; at least one) until the duration or count is reached."""
    warmup_until = time.perf_counter() + warmup_s
    for _ in range(max(1, warmup)):
        call()
        if time.perf_counter() >= warmup_until:
            break
    latencies: List[float] = []
    started = time.perf_counter()
    stop_at = started + duration_s
    while len(latencies) < max_requests:
        begin = time.perf_counter()
        call()
        end = time.perf_counter()
        latencies.append(end - begin)
        if end >= stop_at:
            break
    return summarise(latencies, time.perf_counter() - started, batch)


def interleaved_latency(calls: Dict[str, Callable[[], object]], duration_s: float, max_rounds: int,
                        warmup_rounds: int = 10) -> Dict[str, Measurement]:
    """One call of each of `calls` per round, in an order that rotates each round, until the duration or the
    round count is reached. Every call sees the same machine at nearly the same moment, so the ratio of two
    medians holds even while the neighbours' load drifts (closed-loop points measured one after another do not).
    """
    names = list(calls)
    for _ in range(warmup_rounds):
        for name in names:
            calls[name]()
    latencies: Dict[str, List[float]] = {name: [] for name in names}
    started = time.perf_counter()
    stop_at = started + duration_s
    for round_index in range(max_rounds):
        for name in names[round_index % len(names):] + names[:round_index % len(names)]:
            begin = time.perf_counter()
            calls[name]()
            latencies[name].append(time.perf_counter() - begin)
        if time.perf_counter() >= stop_at:
            break
    elapsed = time.perf_counter() - started
    return {name: summarise(values, elapsed) for name, values in latencies.items()}


def grpc_predict_call(address: str, requests) -> Callable[[], object]:
    """A blocking Predict on the official stub, rotating through `requests` (raises on a failed call)."""
    import grpc
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    stub = prediction_service_pb2_grpc.PredictionServiceStub(grpc.insecure_channel(address))
    rotation = itertools.cycle(requests)
    return lambda: stub.Predict(next(rotation), timeout=30)


def rest_predict_call(url: str, bodies: Sequence[str]) -> Callable[[], object]:
    """A POST on one keep-alive connection (http.client), rotating through `bodies` (raises unless 200)."""
    parsed = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    rotation = itertools.cycle([body.encode("utf-8") for body in bodies])
    headers = {"Content-Type": "application/json"}

    def call() -> bytes:
        connection.request("POST", parsed.path, body=next(rotation), headers=headers)
        response = connection.getresponse()
        payload = response.read()
        if response.status != 200:
            raise LoadGeneratorError(f"POST {url} answered {response.status}: {payload[:200]!r}")
        return payload
    return call


# ---- gRPC: grpc.aio on the official PredictionService stub -----------------------------------------------------
def predict_requests(model_name: str, texts: Sequence[str], batch: int = 1):
    """PredictRequests of `batch` texts each, rotating through `texts`."""
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2

    requests = []
    for start in range(len(texts)):
        request = predict_pb2.PredictRequest()
        request.model_spec.name = model_name
        request.model_spec.signature_name = "serving_default"
        chosen = [texts[(start + i) % len(texts)] for i in range(batch)]
        request.inputs["text"].CopyFrom(tf.make_tensor_proto(chosen, dtype=tf.string, shape=[batch]))
        requests.append(request)
    return requests


async def _grpc_run(address: str, requests, concurrency: int, duration_s: float, max_requests: int,
                    warmup_s: float) -> Measurement:
    import grpc
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    options = [("grpc.max_receive_message_length", 64 << 20)]
    async with grpc.aio.insecure_channel(address, options=options) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        latencies: List[float] = []
        failures = [0]
        state = {"measuring": False, "stop_at": 0.0}

        async def worker(offset: int) -> None:
            index = offset
            while True:
                now = time.perf_counter()
                if state["measuring"] and (now >= state["stop_at"] or len(latencies) >= max_requests):
                    return
                request = requests[index % len(requests)]
                index += 1
                counted = state["measuring"]  # a call sent during the warm-up is not measured
                try:
                    response = await stub.Predict(request, timeout=30)
                    ok = "label" in response.outputs
                except grpc.aio.AioRpcError:
                    ok = False
                if counted:
                    latencies.append(time.perf_counter() - now)
                    failures[0] += not ok

        tasks = [asyncio.ensure_future(worker(i)) for i in range(concurrency)]
        await asyncio.sleep(warmup_s)
        started = time.perf_counter()
        state.update(measuring=True, stop_at=started + duration_s)
        await asyncio.gather(*tasks)
        return summarise(latencies, time.perf_counter() - started, failures=failures[0])


def grpc_load(address: str, requests, concurrency: int, duration_s: float, max_requests: int,
              warmup_s: float = 1.0) -> Measurement:
    """`concurrency` closed-loop clients (each sends its next request when the last answer arrives)."""
    return asyncio.run(_grpc_run(address, requests, concurrency, duration_s, max_requests, warmup_s))


# ---- REST: wrk ------------------------------------------------------------------------------------------------
def wrk_path() -> str:
    """The wrk binary; `LoadGeneratorError` with the install command when it is missing."""
    path = shutil.which("wrk")
    if path is None:
        raise LoadGeneratorError(WRK_INSTALL_HINT)
    return path


def wrk_version() -> str:
    result = subprocess.run([wrk_path(), "--version"], capture_output=True, text=True, check=False)
    return (result.stdout or result.stderr).splitlines()[0].strip() if (result.stdout or result.stderr) else "?"


def wrk_load(url: str, bodies: Sequence[str], concurrency: int, duration_s: float,
             warmup_s: float = 1.0, authorization: Optional[str] = None) -> Measurement:
    """Runs wrk with `concurrency` keep-alive connections (after a short unmeasured wrk run as warm-up);
    `authorization` is sent as the Authorization header (the keyed gateway)."""
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as handle:
        handle.write("\n".join(bodies) + "\n")
        bodies_file = handle.name
    try:
        if warmup_s > 0:
            _wrk(url, bodies_file, concurrency, warmup_s, authorization)
        return _wrk(url, bodies_file, concurrency, duration_s, authorization)
    finally:
        os.unlink(bodies_file)


def _wrk(url: str, bodies_file: str, concurrency: int, duration_s: float,
         authorization: Optional[str] = None) -> Measurement:
    threads = min(concurrency, 2)
    command = [wrk_path(), "-t", str(threads), "-c", str(concurrency), "-d", f"{max(1, round(duration_s))}s",
               "--timeout", "30s", "-s", WRK_SCRIPT, url, "--", bodies_file]
    env = dict(os.environ, WRK_AUTHORIZATION=authorization) if authorization else None
    result = subprocess.run(command, capture_output=True, text=True, timeout=duration_s + 60, check=False, env=env)
    line = next((line for line in result.stdout.splitlines() if line.startswith("{")), None)
    if result.returncode != 0 or line is None:
        raise LoadGeneratorError(f"wrk failed (exit {result.returncode}): {result.stderr.strip() or result.stdout}")
    stats = json.loads(line)
    failures = sum(stats[key] for key in stats if key.startswith("errors_"))
    elapsed = stats["duration_us"] / 1e6
    return Measurement(stats["requests"], stats["requests"] / elapsed, stats["p50_us"] / 1000.0,
                       stats["p90_us"] / 1000.0, stats["p99_us"] / 1000.0, failures)


def rest_bodies(texts: Sequence[str]) -> List[str]:
    """One TF Serving row-format predict body per text."""
    return [json.dumps({"instances": [text]}, ensure_ascii=False) for text in texts]


def best_of(measurements: Sequence[Measurement]) -> Optional[Measurement]:
    usable = [m for m in measurements if m.requests]
    return max(usable, key=lambda m: m.texts_per_s) if usable else None
