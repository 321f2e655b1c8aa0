"""Gateway overhead: TF Serving REST called directly vs through `nlp2prod gateway` (key check, quota, metering).

    TF_CPP_MIN_LOG_LEVEL=3 python benchmarks/gateway_bench.py [--duration 5] [--rounds 3]
        [--output benchmarks/results/gateway.md]

Backend: `nlp2prod serve` (subprocess, batching off) with the serving tests' tiny model, one text per request.
Gateway: `nlp2prod gateway` (subprocess, one uvicorn worker, SQLite store, a key whose quota is far above the
load). Load: wrk (Debian package) with keep-alive connections at concurrency 1 and 16, POST :predict, the same
bodies on both paths; direct and gateway runs alternate, `--rounds` times, and the table shows the median over
rounds. A third path times the gateway alone (key check, quota, metering; no backend call).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH_DIR)
sys.path.insert(0, BENCH_DIR)
sys.path.insert(0, REPO)

import load_generators  # noqa: E402
import machine  # noqa: E402
import server_processes  # noqa: E402
from served_model import export_tiny_model  # noqa: E402

MODEL = "nlp2prod"
TEXTS = ["the match ended in a draw after extra time", "bonjour tout le monde", "wie geht es dir heute",
         "こんにちは 世界", "I would love a big bowl of ramen tonight"]
GATEWAY = "import sys; from gateway.cli import gateway_main; sys.exit(gateway_main(sys.argv[1:]))"


def _gateway_env(state: str) -> dict:
    return dict(server_processes.child_env(), N2P_GATEWAY_SECRET="benchmark-secret-0123456789abcdef",
                N2P_GATEWAY_DATABASE_URL=f"sqlite:///{state}/gateway.db")


def _create_key(state: str) -> str:
    command = [sys.executable, "-m", "pipeline.cli", "keys", "create", "benchmark", "--rate_per_second", "1e9",
               "--burst", "1000000000", "--audit_log", f"{state}/audit.jsonl"]
    done = subprocess.run(command, cwd=REPO, env=_gateway_env(state), capture_output=True, text=True, check=True)
    return done.stdout.strip().splitlines()[-1]


def _start_gateway(state: str, backend: str, port: int) -> subprocess.Popen:
    command = [sys.executable, "-c", GATEWAY, f"--port={port}", f"--backend_url={backend}", f"--model_name={MODEL}",
               f"--audit_log={state}/audit.jsonl"]
    process = subprocess.Popen(command, cwd=REPO, env=_gateway_env(state), stdout=subprocess.DEVNULL,
                               stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while not server_processes._http_ready(f"http://127.0.0.1:{port}/v1/health")():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("nlp2prod gateway did not start")
        time.sleep(0.2)
    return process


PATHS = {"direct": f"/v1/models/{MODEL}:predict", "gateway": f"/v1/models/{MODEL}:predict",
         # The gateway alone: key check, quota and metering, no backend call (the gRPC check Envoy makes).
         "gateway, key check only": "/v1/authz/tensorflow.serving.PredictionService/Predict"}


def _measure(direct: str, gateway: str, key: str, concurrency: int, duration: float, rounds: int) -> dict:
    bodies = load_generators.rest_bodies(TEXTS)
    runs = {name: [] for name in PATHS}
    for _ in range(rounds):
        for name, path in PATHS.items():
            base, authorization = (direct, None) if name == "direct" else (gateway, f"Bearer {key}")
            runs[name].append(load_generators.wrk_load(base + path, bodies, concurrency, duration,
                                                       authorization=authorization))
    return {name: {field: statistics.median(getattr(m, field) for m in measured)
                   for field in ("p50_ms", "p99_ms", "texts_per_s")} | {"failures": sum(m.failures for m in measured)}
            for name, measured in runs.items()}


def _table(results: dict) -> list:
    lines = ["| concurrency | path | p50 ms | p50 overhead ms | p99 ms | req/s | req/s vs direct | failed |",
             "|" + "---|" * 8]
    for concurrency, by_path in results.items():
        direct = by_path["direct"]
        for name, r in by_path.items():
            lines.append(f"| {concurrency} | {name} | {r['p50_ms']:.2f} | {r['p50_ms'] - direct['p50_ms']:+.2f} | "
                         f"{r['p99_ms']:.2f} | {r['texts_per_s']:.0f} | {r['texts_per_s'] / direct['texts_per_s']:.2f} "
                         f"| {r['failures']} |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", default="1,16")
    parser.add_argument("--max_load", type=float, default=2.0, help="wait (up to 2 min) for a load below this")
    parser.add_argument("--output", default=os.path.join(BENCH_DIR, "results", "gateway.md"))
    args = parser.parse_args()
    started = time.time()
    quiet = machine.wait_for_quiet(args.max_load, 120)
    facts = machine.machine_info(["fastapi", "starlette", "uvicorn", "httpx", "SQLAlchemy", "tensorflow"])
    facts.update({"wrk": load_generators.wrk_version(), "machine state": quiet, "command": machine.command_line()})
    with tempfile.TemporaryDirectory(prefix="nlp2prod-gateway-bench-") as scratch:
        export_tiny_model(os.path.join(scratch, MODEL, "1"), seed=1, model_name=MODEL)
        key = _create_key(scratch)
        with server_processes.our_server(MODEL, os.path.join(scratch, MODEL)) as backend:
            port = machine.free_port()
            gateway = _start_gateway(scratch, backend["rest"], port)
            try:
                results = {c: _measure(backend["rest"], f"http://127.0.0.1:{port}", key, c, args.duration,
                                       args.rounds) for c in (int(c) for c in args.concurrency.split(","))}
            finally:
                gateway.terminate()
                gateway.wait(20)
    machine.add_end_facts(facts, started)
    markdown = "\n".join(["# Gateway overhead: TF Serving REST direct vs through nlp2prod gateway", "",
                          __doc__.split("\n\n", 2)[2].strip(), "", *_table(results), "",
                          "The machine is shared with other agents' test runs: read the load averages below "
                          "before the figures.", "", *machine.markdown_facts(facts), ""])
    machine.publish(markdown, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
