"""`nlp2prod run`: the whole pipeline on one machine, quiet by default, with a summary at the end."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from typing import List, Optional

from pipeline import configs
from pipeline.runners.beam import BEAM_TARGETS
from pipeline.console import quiet_run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nlp2prod run", description=__doc__)
    parser.add_argument("--home", default=configs.DEFAULT_HOME,
                        help="state directory: pipeline root, metadata store, logs (default: %(default)s)")
    parser.add_argument("--data-root", help="data root with span-N/ folders (default: HOME/data)")
    parser.add_argument("--serving-root", help="where versions are pushed (default: HOME/serving)")
    parser.add_argument("--model-name", help="model name under the serving root (default: nlp2prod)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                        help="override any config field, e.g. --set model.epochs=1 (repeatable)")
    parser.add_argument("--multiprocess", action="store_true",
                        help="run Beam with the multi-process DirectRunner (one worker per core)")
    parser.add_argument("--beam", choices=BEAM_TARGETS,
                        help="Beam target (pipeline.runners.beam); `portable` without endpoints starts a job "
                             "server and a worker pool here")
    parser.add_argument("--no-cache", action="store_true", help="re-run every component")
    parser.add_argument("-v", "--verbose", action="store_true", help="show the framework logs on the console")
    return parser


def config_from_args(args: argparse.Namespace) -> configs.RunConfig:
    """Builds the run's one config from the command line."""
    config = configs.for_home(args.home, args.data_root, args.serving_root, args.model_name).replace(
        enable_cache=not args.no_cache)
    if args.multiprocess:
        config = config.replace(beam_args=configs.multiprocess_beam_args())
    config = configs.with_overrides(config, args.overrides)
    if args.beam:
        config = config.replace(ops=dataclasses.replace(config.ops, beam_target=args.beam))
    return config


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = config_from_args(args)
    except ValueError as error:
        print(f"nlp2prod run: {error}", file=sys.stderr)
        return 2
    if not os.path.isdir(config.data.data_root):
        print(f"nlp2prod run: data root {config.data.data_root!r} does not exist; write the bundled corpus "
              f"there with `nlp2prod data bundled --data-root {config.data.data_root}`", file=sys.stderr)
        return 2
    log_path = os.path.join(config.log_dir, time.strftime("run-%Y%m%d-%H%M%S.log"))
    print(f"nlp2prod: running pipeline {config.pipeline_name!r} on {config.data.data_root} "
          f"(full log: {log_path})")
    started = time.monotonic()
    with quiet_run(log_path, verbose=args.verbose) as progress:
        try:
            # Imports TFX and TensorFlow: only now, inside quiet_run, so their import-time noise (CUDA plugin
            # registration errors on a CPU machine, FutureWarnings) goes to the log and not to the console.
            from pipeline import local_runner
            from pipeline.runners.portable import portable_run

            with portable_run(config, config.log_dir) as run_config:
                result = local_runner.run_local(run_config)
        except Exception as error:  # every failure is reported as one clear line; details are in the log
            component = progress.current_component or "pipeline"
            progress.report(f"  ✗ {component} failed: {_message(error)}\n    details: {log_path}")
            return 1
    print(f"nlp2prod: pipeline finished in {time.monotonic() - started:.0f} s ({result.summary()})")
    from pipeline import run_summary

    run_summary.print_summary(config, result)
    return 0


def _message(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text if len(text) < 2000 else text[:2000] + " ..."
