"""The `nlp2prod` command: one entry point that imports each side lazily.

Serving commands import only `serving` (a serving host has no TFX); gateway commands import only `gateway` and
`edge` only `edge` (no TensorFlow); training and operations commands import the pipeline side. Each command
lives with the code it drives and exposes `main(argv) -> int`.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Dict, List, Optional, Tuple

# command -> (module, function, one-line help)
COMMANDS: Dict[str, Tuple[str, str, str]] = {
    "data": ("data.cli", "main", "write the bundled corpus, or check/import your own files, under a data root"),
    "run": ("pipeline.run_cli", "main", "run the whole pipeline locally and push a new version if it passes"),
    "schedule": ("pipeline.schedule", "main", "run the pipeline on a cron schedule, one run at a time"),
    "compile": ("pipeline.compile_cli", "main", "emit the pipeline for Airflow, Kubeflow V2/Vertex or a CronJob"),
    "lineage": ("pipeline.lineage", "main", "trace a pushed version back to its run, data span and metrics"),
    "monitor": ("monitoring.cli", "monitor_main", "compare logged requests with the training data; alerts, reports"),
    "feedback": ("monitoring.cli", "feedback_main", "record true labels of logged requests (live accuracy)"),
    "golden": ("monitoring.cli", "golden_main", "record / check a version's answers on its golden texts"),
    "serve": ("serving.cli", "serve_main", "start the TF-Serving-compatible gRPC + REST server"),
    "predict": ("serving.cli", "predict_main", "classify texts through a running server"),
    "versions": ("serving.cli", "versions_main", "list versions on disk, their state, labels and metrics"),
    "promote": ("serving.cli", "promote_main", "point a label (default: stable) at a version"),
    "canary": ("serving.cli", "canary_main", "serve a version under the canary label beside stable"),
    "rollback": ("serving.cli", "rollback_main", "move stable back to the previous good version"),
    "gateway": ("gateway.cli", "gateway_main", "the keyed API (keys, quotas, docs) in front of a TF Serving REST URL"),
    "keys": ("gateway.cli", "keys_main", "create, list, revoke or rotate API keys; export usage"),
    "edge": ("edge.cli", "main", "classify texts with an exported ONNX / TFLite artefact (no TensorFlow)"),
}


def _usage() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = ["usage: nlp2prod COMMAND [options]   (nlp2prod COMMAND --help for its options)", "", "commands:"]
    lines += [f"  {name.ljust(width)}  {help_text}" for name, (_, _, help_text) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    """Dispatches `nlp2prod COMMAND ...` to the command's own `main(argv)`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"nlp2prod: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    # Legacy Keras for every process: tensorflow-model-optimization refuses Keras 3 models.
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    module_name, function_name, _ = COMMANDS[name]
    command = getattr(importlib.import_module(module_name), function_name)
    return int(command(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
