"""REST fuzz run: schemathesis against the OpenAPI description our server publishes at /v1/openapi.json.

    .venv/bin/python benchmarks/robustness_fuzz.py [--max-examples 100] [--max-time 300]
        [--schemathesis /tmp/fuzz-venv/bin/st] [--output benchmarks/results/robustness_fuzz.md]

schemathesis is NOT part of the project's environment (the lock is shared); install it into a throwaway venv:
    python3.11 -m venv /tmp/fuzz-venv && /tmp/fuzz-venv/bin/pip install schemathesis
Two passes against one `nlp2prod serve` process (tiny test model unless MODEL is given, label stable=1):
  "any address"   model names, versions and labels generated from the schema (mostly unknown models);
  "served model"  path parameters pinned to the served model, so generated bodies reach the predict,
                  classify and regress code.
Every pass counts generated test cases and response codes; the run fails on any 5xx or a dead server.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from typing import Dict, List, Optional, Sequence

import machine
import server_processes
from served_model import ModelNotFoundError, resolve_model

MODEL_NAME = "nlp2prod"
DEFAULT_OUTPUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "robustness_fuzz.md")
INSTALL_HINT = ("schemathesis not found: python3.11 -m venv /tmp/fuzz-venv && /tmp/fuzz-venv/bin/pip install "
                "schemathesis (keep it out of the project's .venv), then pass --schemathesis /tmp/fuzz-venv/bin/st")
PASSES = {
    "any address": {},
    "served model": {"path.model_name": MODEL_NAME, "path.version": 1, "path.label": "stable"},
}


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", help="SavedModel version dir or base path (default: as serving_bench)")
    parser.add_argument("--schemathesis", default=shutil.which("st") or "/tmp/fuzz-venv/bin/st")
    parser.add_argument("--max-examples", type=int, default=100, help="per operation and phase")
    parser.add_argument("--max-time", type=int, default=300, help="seconds per pass")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--output", default=DEFAULT_OUTPUT, help="markdown results file ('' to skip)")
    return parser.parse_args(argv)


def _models_config(folder: str, base_path: str) -> str:
    path = os.path.join(folder, "models.config")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(f'model_config_list {{ config {{ name: "{MODEL_NAME}" base_path: "{base_path}" '
                     'model_platform: "tensorflow" version_labels { key: "stable" value: 1 } } }\n')
    return path


def _toml(folder: str, parameters: Dict[str, object]) -> str:
    path = os.path.join(folder, "schemathesis.toml")
    with open(path, "w", encoding="utf-8") as handle:
        if parameters:
            handle.write("[parameters]\n" + "".join(f'"{k}" = {json.dumps(v)}\n' for k, v in parameters.items()))
    return path


def run_pass(args: argparse.Namespace, name: str, url: str, folder: str) -> Dict[str, object]:
    report_dir = os.path.join(folder, name.replace(" ", "-"))
    command = [args.schemathesis, "--config-file", _toml(folder, PASSES[name]), "run", f"{url}/v1/openapi.json",
               "--checks", "not_a_server_error", "--max-examples", str(args.max_examples), "--seed",
               str(args.seed), "--max-time", str(args.max_time), "--workers", "1", "--report", "json,vcr",
               "--report-dir", report_dir, "--generation-database", "none", "--no-color"]
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, timeout=args.max_time + 300, check=False)
    summary = _read_report(report_dir)
    summary.update(seconds=round(time.monotonic() - started), exit_code=result.returncode,
                   command=" ".join(command[:1] + ["--config-file", "<pass toml>"] + command[3:]).replace(
                       url, "http://127.0.0.1:PORT").replace(report_dir, "<report dir>"),
                   tail=result.stdout[-1500:] if result.returncode else "")
    return summary


def _read_report(report_dir: str) -> Dict[str, object]:
    files = os.listdir(report_dir) if os.path.isdir(report_dir) else []
    report_json = next((f for f in files if f.startswith("json-")), None)
    vcr = next((f for f in files if f.startswith("vcr-")), None)
    if report_json is None or vcr is None:
        return {"test_cases": 0, "failures": ["no schemathesis report written"], "codes": {}}
    with open(os.path.join(report_dir, report_json), encoding="utf-8") as handle:
        report = json.load(handle)
    with open(os.path.join(report_dir, vcr), encoding="utf-8") as handle:
        codes = collections.Counter(re.findall(r"^    status:\n      code: '(\d+)'", handle.read(), re.M))
    return {"test_cases": report["test_cases"]["generated"], "version": report["schemathesis_version"],
            "failures": [str(f) for f in report["failures"]] + [str(e) for e in report["errors"]],
            "codes": dict(sorted(codes.items()))}


def _alive(process: subprocess.Popen, url: str) -> bool:
    if process.poll() is not None:
        return False
    try:
        with urllib.request.urlopen(f"{url}/v1/ready", timeout=10) as response:
            return response.status == 200
    except OSError:
        return False


def markdown(results: Dict[str, Dict[str, object]], model: str, facts: Dict[str, str], internal: List[str]) -> str:
    lines = ["# REST fuzz run (schemathesis)", "", "Command (from the repository root):", "", "```",
             machine.command_line(), "```", "", f"Model: {model}", "", "## Machine", "", *machine.markdown_facts(facts),
             "", "## Results", "", "| pass | test cases | responses by HTTP status | 5xx | schemathesis failures "
             "| server alive after | seconds |", "|---|---:|---|---:|---:|---|---:|"]
    for name, r in results.items():
        fivexx = sum(n for code, n in r["codes"].items() if code.startswith("5"))
        codes = ", ".join(f"{code}: {n}" for code, n in r["codes"].items())
        lines.append(f"| {name} | {r['test_cases']} | {codes} | {fivexx} | {len(r['failures'])} "
                     f"| {'yes' if r['alive'] else '**no**'} | {r['seconds']} |")
    lines += ["", "Server log lines reporting an internal error during the run: "
              f"{len(internal)}" + ("".join(f"\n    {line}" for line in internal[:10]) if internal else ""), "",
              "schemathesis command of each pass:", ""]
    lines += [f"- {name}: `{r['command']}` with {PASSES[name] or 'no parameter overrides'}"
              for name, r in results.items()]
    failures = [f for r in results.values() for f in r["failures"]]
    if failures:
        lines += ["", "## Failures", "", *[f"- {f[:500]}" for f in failures[:20]]]
    return "\n".join(lines) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    if not os.path.exists(args.schemathesis):
        print(f"robustness_fuzz: {INSTALL_HINT}", file=sys.stderr)
        return 2
    try:
        model = resolve_model(args.model)
    except ModelNotFoundError as error:
        print(f"robustness_fuzz: {error}", file=sys.stderr)
        return 2
    facts = machine.machine_info(["tensorflow", "grpcio"])
    results = {}
    with tempfile.TemporaryDirectory(prefix="nlp2prod-fuzz-") as folder:
        config = _models_config(folder, model.base_path)
        with server_processes.our_server(MODEL_NAME, model.base_path, model_config_file=config) as server:
            for name in PASSES:
                results[name] = run_pass(args, name, server["rest"], folder)
                results[name]["alive"] = _alive(server["process"], server["rest"])
                print(f"{name}: {results[name]['test_cases']} test cases, codes {results[name]['codes']}, "
                      f"{len(results[name]['failures'])} failures, alive {results[name]['alive']}", flush=True)
            internal = [line for line in server_processes.read_log(server["process"]).splitlines()
                        if "internal error" in line.lower() or "Traceback" in line]
    facts["schemathesis"] = next((r["version"] for r in results.values() if r.get("version")), "?")
    text = markdown(results, model.description, facts, internal)
    machine.publish(text, args.output)
    clean = all(r["alive"] and not r["failures"] and not any(c.startswith("5") for c in r["codes"])
                for r in results.values())
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
