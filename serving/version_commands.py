"""`nlp2prod versions | promote | canary | rollback`: versions on disk and in the server, and label moves.

They use only the model config file and TF Serving's ModelService (GetModelStatus, HandleReloadConfigRequest),
so they drive tensorflow_model_server exactly as they drive ours. Labels live in the config file (TF Serving
has no RPC that lists them). Every move is appended to an audit log (JSON lines) beside the config file.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from typing import Dict, List, Optional

from serving import audit_log, config as config_lib, layout, rollback
from serving.errors import CommandError, ConfigError, ServingError


DEFAULT_CONFIG = os.path.join(".nlp2prod", "serving", layout.MODEL_CONFIG_FILE)


def _parser(prog: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"nlp2prod {prog}", description=description)
    parser.add_argument("--model_config_file", default=DEFAULT_CONFIG,
                        help=f"the models.config the server reads (default {DEFAULT_CONFIG}); created from "
                             "--model_name/--model_base_path when missing")
    parser.add_argument("--model_name", help="model in the config (default: its only model, else nlp2prod)")
    parser.add_argument("--model_base_path", help="version dirs, to seed a missing config file")
    parser.add_argument("--server", default="localhost:8500", help="gRPC address of the server")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for a version to load")
    parser.add_argument("--audit_log", help="audit log (default: MODEL_CONFIG_FILE.audit.jsonl)")
    return parser


def _load_config(args: argparse.Namespace):
    if os.path.exists(args.model_config_file):
        config = rollback.read_config(args.model_config_file)
    else:
        name = args.model_name or "nlp2prod"
        base_path = args.model_base_path or os.path.join(os.path.dirname(args.model_config_file) or ".", name)
        config = config_lib.single_model_config(name, os.path.abspath(base_path))
    names = [entry.name for entry in config.model_config_list.config]
    model = args.model_name or (names[0] if len(names) == 1 else None)
    if model is None:
        raise CommandError(f"{args.model_config_file} has several models ({', '.join(names)}); pass --model_name")
    return config, rollback.model_entry(config, model)


def _client(args: argparse.Namespace):
    from serving import client  # imports TensorFlow; only commands that talk to a server pay for it

    return client.GrpcClient(args.server, timeout=10.0, retries=2)


def _served(remote, model: str) -> Dict[int, tuple]:
    try:
        return {s.version: (s.state, s.error) for s in remote.model_status(model)}
    except ServingError:
        return {}


def versions_main(argv: Optional[List[str]] = None) -> int:
    """Lists versions on disk with their state in the server, labels and metrics from their metadata."""
    parser = _parser("versions", versions_main.__doc__)
    parser.add_argument("--json", action="store_true", help="one JSON object per version")
    args = parser.parse_args(argv)
    try:
        _, entry = _load_config(args)
        served = _served(_client(args), entry.name)
    except (CommandError, ServingError) as error:
        return report_failure(error)
    labels = {}
    for label, version in entry.version_labels.items():
        labels.setdefault(version, []).append(label)
    on_disk = layout.versions_on_disk(entry.base_path)
    rows = [_version_row(v, on_disk.get(v), served.get(v), labels.get(v, [])) for v in sorted(set(on_disk) | set(served))]
    if not served:
        print(f"(server {args.server} not reachable or not serving {entry.name}: states unknown)", file=sys.stderr)
    for row in rows:
        print(json.dumps(row) if args.json else _format_row(row))
    return 0


def _version_row(version: int, path: Optional[str], served: Optional[tuple], labels: List[str]) -> dict:
    try:
        metadata = (layout.read_metadata(path) if path else None) or {}
    except layout.LayoutError as error:
        metadata = {"error": str(error)}
    return {"version": version, "on_disk": path is not None, "state": served[0] if served else "UNKNOWN",
            "error": served[1] if served else "", "labels": sorted(labels),
            "metrics": metadata.get("metrics", {}).get("overall", {}), "pushed_at": metadata.get("pushed_at"),
            "run_id": metadata.get("run_id")}


def _format_row(row: dict) -> str:
    metrics = " ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in sorted(row["metrics"].items()))
    labels = ",".join(row["labels"]) or "-"
    where = "" if row["on_disk"] else " (not on disk)"
    error = f" error: {row['error']}" if row["error"] else ""
    return f"{row['version']:>6}  {row['state']:<10} {labels:<16} {metrics or '-'}  {row['pushed_at'] or ''}{where}{error}"


def _move(args: argparse.Namespace, action: str, label: str, target_of, drop_labels=()) -> int:
    try:
        config, entry = _load_config(args)
        remote = _client(args)
        served = _served(remote, entry.name)
        on_disk = layout.versions_on_disk(entry.base_path)
        target = target_of(entry, on_disk)
        previous = dict(entry.version_labels).get(label)
        steps = rollback.plan_label_move(config, entry.name, label, target, on_disk,
                                         [v for v, (state, _) in served.items() if state == "AVAILABLE"],
                                         drop_labels)
        if not steps:
            print(f"{entry.name}: {label} already points at version {target}")
            return 0
        rollback.apply_plan(steps, args.model_config_file, remote.reload_config,
                            lambda v: _served(remote, entry.name).get(v, ("START", "")), args.timeout)
        rollback.append_audit(args.audit_log or audit_log.path_for(args.model_config_file), getpass.getuser(),
                              action, entry.name, [rollback.LabelMove(label, previous, target)],
                              args.model_config_file)
    except (CommandError, ServingError) as error:
        return report_failure(error)
    print(f"{entry.name}: {label} {previous if previous is not None else '(none)'} -> {target} "
          f"({', '.join(step.name for step in steps)})")
    return 0


def promote_main(argv: Optional[List[str]] = None) -> int:
    """Points a label (default: stable) at a version (default: the canary, else the newest on disk)."""
    parser = _parser("promote", promote_main.__doc__)
    parser.add_argument("--version", type=int, help="version to promote")
    parser.add_argument("--label", default="stable")
    args = parser.parse_args(argv)

    def target(entry, on_disk):
        if args.version is not None:
            return args.version
        canary = dict(entry.version_labels).get("canary")
        if canary is not None:
            return canary
        if not on_disk:
            raise CommandError(f"no versions on disk under {entry.base_path}")
        return max(on_disk)

    return _move(args, "promote", args.label, target, drop_labels=("canary",) if args.label == "stable" else ())


def canary_main(argv: Optional[List[str]] = None) -> int:
    """Serves a version (default: the newest on disk) under the canary label, beside stable."""
    parser = _parser("canary", canary_main.__doc__)
    parser.add_argument("--version", type=int, help="version to serve as canary")
    args = parser.parse_args(argv)

    def target(entry, on_disk):
        if args.version is not None:
            return args.version
        if not on_disk:
            raise CommandError(f"no versions on disk under {entry.base_path}")
        return max(on_disk)

    return _move(args, "canary", "canary", target)


def rollback_main(argv: Optional[List[str]] = None) -> int:
    """Moves stable back to the version it pointed at before (from the audit log), or to --version."""
    parser = _parser("rollback", rollback_main.__doc__)
    parser.add_argument("--version", type=int, help="version to roll back to")
    args = parser.parse_args(argv)

    def target(entry, on_disk):
        if args.version is not None:
            return args.version
        current = dict(entry.version_labels).get("stable")
        if current is None:
            raise CommandError(f"model {entry.name} has no stable label to roll back")
        history = rollback.read_history(args.audit_log or audit_log.path_for(args.model_config_file), entry.name)
        return rollback.rollback_target(current, on_disk, history)

    return _move(args, "rollback", "stable", target)


def report_failure(error: Exception) -> int:
    """One line on stderr; 2 for a mistake in the command or its files, 1 for a refusal by the server."""
    print(f"nlp2prod: {getattr(error, 'message', error)}", file=sys.stderr)
    if isinstance(error, ConfigError):
        return 2
    return getattr(error, "exit_code", 1)
