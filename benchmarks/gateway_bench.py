"""Gateway overhead: TF Serving REST called directly vs through `nlp2prod gateway` (key check, quota, metering).

    TF_CPP_MIN_LOG_LEVEL=3 python benchmarks/gateway_bench.py [--duration 5] [--rounds 3] [--model PATH]
        [--output benchmarks/results/gateway.md]

Backends: `nlp2prod serve` (subprocess, batching off), one text per request, first with the tiny sample model
(the worst case for the gateway: the model's own work is a fraction of a millisecond), then with a trained model
(`--model`, else the newest version `nlp2prod run` pushed; skipped when there is none).
Gateway: `nlp2prod gateway` (subprocess, one uvicorn worker, SQLite store, a key whose quota is far above the
load). Load: wrk (Debian package) with keep-alive connections at concurrency 1 and 16, POST :predict, the same
bodies on both paths; direct and gateway runs alternate, `--rounds` times, each after a 1 s unmeasured run, and
the tables show the median over rounds. A third path times the gateway alone (key check, quota, metering; no
backend call). CPU ms/req: the CPU time the gateway and the backend processes spent during a run, per answered
request (/proc), which says what each hop costs whatever else the shared machine runs. Each backend is measured
in two CPU layouts (`--layouts`): `shared` (every process on both cores) and `pinned` (the model server on CPU 0,
wrk and the gateway on CPU 1: the gateway has CPU of its own, as in a deployment where it runs in its own pod; the
model server has the same one core on both paths, so the ratio compares like with like).
"""

from __future__ import annotations

import argparse
import contextlib
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
import served_model  # noqa: E402
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
FIELDS = ("p50_ms", "p99_ms", "texts_per_s", "gateway_cpu_ms", "backend_cpu_ms")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used (Linux /proc)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _one_run(url: str, bodies: list, concurrency: int, duration: float, authorization, pids: dict) -> dict:
    """One wrk run after a 1 s unmeasured one; with the CPU each process spent per answered request."""
    load_generators.wrk_load(url, bodies, concurrency, 1.0, warmup_s=0, authorization=authorization)
    before = {name: _cpu_seconds(pid) for name, pid in pids.items()}
    measured = load_generators.wrk_load(url, bodies, concurrency, duration, warmup_s=0, authorization=authorization)
    per_request = {name: (_cpu_seconds(pid) - before[name]) * 1e3 / max(1, measured.requests)
                   for name, pid in pids.items()}
    return {"p50_ms": measured.p50_ms, "p99_ms": measured.p99_ms, "texts_per_s": measured.texts_per_s,
            "gateway_cpu_ms": per_request["gateway"], "backend_cpu_ms": per_request["backend"],
            "failures": measured.failures}


def _measure(direct: str, gateway: str, key: str, concurrency: int, duration: float, rounds: int,
             pids: dict) -> dict:
    bodies = load_generators.rest_bodies(TEXTS)
    runs = {name: [] for name in PATHS}
    for _ in range(rounds):
        for name, path in PATHS.items():
            base, authorization = (direct, None) if name == "direct" else (gateway, f"Bearer {key}")
            runs[name].append(_one_run(base + path, bodies, concurrency, duration, authorization, pids))
    return {name: {field: statistics.median(m[field] for m in measured) for field in FIELDS}
            | {"failures": sum(m["failures"] for m in measured)} for name, measured in runs.items()}


def _table(results: dict) -> list:
    lines = ["| concurrency | path | p50 ms | p50 overhead ms | p99 ms | req/s | req/s vs direct | gateway CPU "
             "ms/req | backend CPU ms/req | failed |", "|" + "---|" * 10]
    for concurrency, by_path in results.items():
        direct = by_path["direct"]
        for name, r in by_path.items():
            gateway_cpu = f"{r['gateway_cpu_ms']:.3f}" if name != "direct" else "-"
            lines.append(f"| {concurrency} | {name} | {r['p50_ms']:.2f} | {r['p50_ms'] - direct['p50_ms']:+.2f} | "
                         f"{r['p99_ms']:.2f} | {r['texts_per_s']:.0f} | {r['texts_per_s'] / direct['texts_per_s']:.2f} "
                         f"| {gateway_cpu} | {r['backend_cpu_ms']:.3f} | {r['failures']} |")
    return lines


def _backends(args: argparse.Namespace, scratch: str) -> list:
    """(title, base path) of each backend to measure: the tiny model, then the realistic one if any."""
    tiny = export_tiny_model(os.path.join(scratch, "tiny", MODEL, "1"), seed=1, model_name=MODEL)
    found = [("tiny sample model (serving/sample_model.py: whitespace tokens, hashed bag of words, one dense "
              f"layer; about 0.3 ms of CPU per call), exported to {tiny}", os.path.dirname(tiny))]
    if args.model or served_model.newest_version(served_model.PUSHED_BASE_PATH) is not None:
        real = served_model.resolve_model(args.model, os.path.join(scratch, "real"))
        found.append((f"trained model, {real.description}", real.base_path))
    return found


LAYOUTS = {"shared": "every process on both cores",
           "pinned": "the model server on CPU 0, wrk and the gateway on CPU 1: the gateway on CPU the model server "
                     "does not use, as in its own pod or container"}


@contextlib.contextmanager
def _cpus(layout: str, cpus: set):
    """Processes started inside inherit `cpus` when the layout pins; the benchmark's own affinity comes back."""
    held = os.sched_getaffinity(0)
    if layout == "pinned":
        os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, held)


def _measure_backend(title: str, base_path: str, key: str, scratch: str, args: argparse.Namespace,
                     layout: str) -> list:
    """The table of one backend in one CPU layout, with the load average before and after it."""
    load_before = " / ".join(f"{v:.2f}" for v in os.getloadavg())
    with _cpus(layout, {0}), server_processes.our_server(MODEL, base_path, timeout_s=900) as backend, \
            _cpus(layout, {1}):
        port = machine.free_port()
        gateway = _start_gateway(scratch, backend["rest"], port)
        pids = {"gateway": gateway.pid, "backend": backend["pid"]}
        try:
            results = {c: _measure(backend["rest"], f"http://127.0.0.1:{port}", key, c, args.duration, args.rounds,
                                   pids) for c in (int(c) for c in args.concurrency.split(","))}
        finally:
            gateway.terminate()
            gateway.wait(20)
    load_after = " / ".join(f"{v:.2f}" for v in os.getloadavg())
    return [f"## Backend: {title}; CPUs: {layout} ({LAYOUTS[layout]})", "", *_table(results), "",
            f"Load average (1/5/15 min) before this table: {load_before}; after: {load_after}.", ""]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", default="1,16")
    parser.add_argument("--model", help="a trained SavedModel (version dir or base path) measured after the tiny "
                        "one; default: the newest version `nlp2prod run` pushed, if any")
    parser.add_argument("--layouts", default="shared,pinned", help=f"CPU layouts to measure: {', '.join(LAYOUTS)}")
    parser.add_argument("--max_load", type=float, default=2.0, help="wait (up to 2 min) for a load below this")
    parser.add_argument("--output", default=os.path.join(BENCH_DIR, "results", "gateway.md"))
    args = parser.parse_args()
    started = time.time()
    quiet = machine.wait_for_quiet(args.max_load, 120)
    facts = machine.machine_info(["fastapi", "starlette", "uvicorn", "aiohttp", "SQLAlchemy", "tensorflow"])
    facts.update({"wrk": load_generators.wrk_version(), "machine state": quiet, "command": machine.command_line()})
    sections = []
    with tempfile.TemporaryDirectory(prefix="nlp2prod-gateway-bench-") as scratch:
        key = _create_key(scratch)
        for title, base_path in _backends(args, scratch):
            for layout in args.layouts.split(","):
                sections += _measure_backend(title, base_path, key, scratch, args, layout)
    machine.add_end_facts(facts, started)
    markdown = "\n".join(["# Gateway overhead: TF Serving REST direct vs through nlp2prod gateway", "",
                          __doc__.split("\n\n", 2)[2].strip(), "", *sections,
                          "The machine is shared with other agents' test runs and the coordinator's model "
                          "training (2 cores in all): read the load averages before the figures.", "",
                          *machine.markdown_facts(facts), ""])
    machine.publish(markdown, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
