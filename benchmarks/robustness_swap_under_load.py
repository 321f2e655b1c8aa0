"""Version swaps and rollbacks under sustained load: at least 10,000 requests, 0 failures allowed.

    .venv/bin/python benchmarks/robustness_swap_under_load.py [--min-requests 12000] [--dwell 3]
        [--output benchmarks/results/robustness_swap.md]

One `nlp2prod serve` process (tiny test model versions, models.config with label stable=1) takes gRPC load by
label and unaddressed (grpc.aio, official stub) plus REST load by label, while this script runs the product's
own operations in order: `push_version` (the VersionPusher library: staged copy + rename), then the
`nlp2prod canary | promote | rollback` commands (serving.version_commands), which rewrite models.config and
call HandleReloadConfigRequest. Counted per phase: requests, failures, versions that answered, and stale
answers (a request by label started after a command returned but answered by another version than the label's).
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time
from typing import Callable, Dict, List, Optional, Sequence

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import machine  # noqa: E402
import server_processes  # noqa: E402
from served_model import export_tiny_model  # noqa: E402
from swap_load import SwapLoad  # noqa: E402

MODEL_NAME = "nlp2prod"
DEFAULT_OUTPUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "robustness_swap.md")


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-requests", type=int, default=12000, help="keep the load on until this many")
    parser.add_argument("--dwell", type=float, default=3.0, help="seconds of load after each operation")
    parser.add_argument("--output", default=DEFAULT_OUTPUT, help="markdown results file ('' to skip)")
    return parser.parse_args(argv)


class Operations:
    """The product's operations on one served model: push (VersionPusher library) and the label commands."""

    def __init__(self, serving_root: str, config_file: str, grpc_address: str, exports: Dict[int, str]):
        self.serving_root, self.exports = serving_root, exports
        self.common = ["--model_config_file", config_file, "--server", grpc_address, "--timeout", "120"]

    def push(self, source: int) -> Callable[[], str]:
        def run() -> str:
            from components.version_pusher import push

            warmup = push.warmup_requests({"en": ["hello there"], "de": ["guten Tag"]}, MODEL_NAME)
            version = push.push_version(self.exports[source], self.serving_root, MODEL_NAME, warmup,
                                        {"run_id": f"swap-run-{source}"})["version"]
            return f"pushed version {version}"
        return run

    def command(self, name: str, *extra: str) -> Callable[[], str]:
        def run() -> str:
            from serving import version_commands

            main = getattr(version_commands, f"{name}_main")
            code = main(self.common + list(extra))
            if code != 0:
                raise RuntimeError(f"nlp2prod {name} {' '.join(extra)} exited with {code}")
            return f"nlp2prod {name} {' '.join(extra)}".strip()
        return run


def phases(ops: Operations):
    """(name, operation or None, the version `stable` points at once it returned)."""
    return [("baseline", None, 1), ("push version 2", ops.push(2), 1),
            ("canary 2", ops.command("canary", "--version", "2"), 1),
            ("promote canary to stable", ops.command("promote"), 2), ("rollback stable", ops.command("rollback"), 1),
            ("push version 3", ops.push(3), 1), ("canary 3", ops.command("canary", "--version", "3"), 1),
            ("promote canary to stable", ops.command("promote"), 3), ("rollback stable", ops.command("rollback"), 1),
            ("promote version 3", ops.command("promote", "--version", "3"), 3)]


def run_phases(load: SwapLoad, ops: Operations, dwell: float) -> List[Dict[str, object]]:
    done = []
    for name, operation, stable in phases(ops):
        started = time.monotonic()
        outcome = operation() if operation else "load only"
        returned = time.monotonic()
        time.sleep(dwell)
        done.append({"name": name, "outcome": outcome, "start": started, "returned": returned, "stable": stable})
        print(f"  {name}: {outcome} in {returned - started:.2f}s; {load.count} requests so far", flush=True)
    return done


def analyse(records, done: List[Dict[str, object]], end: float) -> List[Dict[str, object]]:
    rows = []
    for index, phase in enumerate(done):
        until = done[index + 1]["start"] if index + 1 < len(done) else end
        mine = [r for r in records if phase["start"] <= r.start < until]
        by_route: Dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        for r in mine:
            if r.version is not None:
                by_route[r.route][r.version] += 1
        stale = [r for r in mine if r.route == "stable" and r.start >= phase["returned"] and r.version is not None
                 and r.version != phase["stable"]]
        rows.append({**phase, "requests": len(mine), "failures": [r.error for r in mine if r.error],
                     "by_route": {k: dict(sorted(v.items())) for k, v in sorted(by_route.items())},
                     "stale": len(stale), "seconds": phase["returned"] - phase["start"]})
    return rows


def markdown(rows, records, facts: Dict[str, str], min_requests: int) -> str:
    failures = sum(len(r["failures"]) for r in rows)
    stale = sum(r["stale"] for r in rows)
    verdict = "**passed**" if failures == 0 and stale == 0 and len(records) >= min_requests else "**FAILED**"
    lines = ["# Version swap and rollback under sustained load", "", "Command (from the repository root):", "",
             "```", machine.command_line(), "```", "", "## Machine", "", *machine.markdown_facts(facts), "",
             f"## Result: {verdict}", "", f"- requests: {len(records)} (minimum {min_requests})",
             f"- failed requests: {failures}", f"- stale answers after a label move returned: {stale}",
             f"- by route: {dict(collections.Counter(r.route for r in records))}", "",
             "| phase | operation | operation s | requests | failed | stale | versions answering (route: version: n) |",
             "|---|---|---:|---:|---:|---:|---|"]
    for r in rows:
        routes = "; ".join(f"{route}: {versions}" for route, versions in r["by_route"].items())
        lines.append(f"| {r['name']} | {r['outcome']} | {r['seconds']:.2f} | {r['requests']} | "
                     f"{len(r['failures'])} | {r['stale']} | {routes} |")
    errors = [e for r in rows for e in r["failures"]][:10]
    if errors:
        lines += ["", "First failures:", "", *[f"- {e}" for e in errors]]
    lines += ["", "Routes: `stable` = gRPC by label, `latest` = gRPC without a version (highest AVAILABLE), "
              "`rest-stable` = REST by label (REST answers do not name the version). A stale answer is a "
              "`stable` request started after the label command returned yet answered by another version."]
    return "\n".join(lines) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    facts = machine.machine_info(["tensorflow", "grpcio"])
    with tempfile.TemporaryDirectory(prefix="nlp2prod-swap-") as scratch:
        exports = {v: export_tiny_model(os.path.join(scratch, "exports", str(v)), seed=v, version=v)
                   for v in (1, 2, 3)}
        serving_root = os.path.join(scratch, "serving")
        from components.version_pusher import push

        push.push_version(exports[1], serving_root, MODEL_NAME, [], {"run_id": "swap-run-1"})
        config = os.path.join(serving_root, "models.config")
        base = os.path.join(serving_root, MODEL_NAME)
        with open(config, "w", encoding="utf-8") as handle:
            handle.write(f'model_config_list {{ config {{ name: "{MODEL_NAME}" base_path: "{base}" '
                         'model_platform: "tensorflow" model_version_policy { specific { versions: 1 } } '
                         'version_labels { key: "stable" value: 1 } } }\n')
        with server_processes.our_server(MODEL_NAME, base, model_config_file=config) as server:
            ops = Operations(serving_root, config, server["grpc"], exports)
            with SwapLoad(MODEL_NAME, server["grpc"], int(server["rest"].rsplit(":", 1)[1])) as load:
                while load.count < 200:  # every client connected and answered before the first operation
                    time.sleep(0.1)
                done = run_phases(load, ops, args.dwell)
                while load.count < args.min_requests:
                    time.sleep(0.5)
            end = time.monotonic()
            records = list(load.records)
    machine.add_end_facts(facts)
    rows = analyse(records, done, end)
    text = markdown(rows, records, facts, args.min_requests)
    machine.publish(text, args.output)
    return 0 if "**passed**" in text else 1


if __name__ == "__main__":
    sys.exit(main())
