"""`nlp2prod compile`: emit the pipeline for Airflow, Kubeflow V2 / Vertex, or a Kubernetes CronJob.

  nlp2prod compile --target airflow  --out DIR [--schedule CRON] --home /srv/nlp2prod
  nlp2prod compile --target kubeflow --out DIR [--schedule CRON] --home gs://BUCKET/nlp2prod --image IMAGE
  nlp2prod compile --target cronjob  --out DIR [--schedule CRON] [--image IMAGE] [--namespace NS]

Every target takes the config flags of `nlp2prod run` (--home, --data-root, --serving-root, --set ...) and
`--beam TARGET` for the Beam arguments the emitted pipeline uses (see pipeline.runners.beam).
"""

from __future__ import annotations

import dataclasses
import os
import sys
from typing import Dict, List, Optional

from croniter import croniter

from pipeline import configs, run_cli
from pipeline.runners.beam import BeamTargetError, with_beam_target

TARGETS = ("airflow", "kubeflow", "cronjob")


class CompileError(ValueError):
    """A compile request that cannot produce a working artifact (bad schedule, unreachable paths, ...)."""


def build_parser():
    """The parser: `nlp2prod run`'s config flags plus the compile options."""
    parser = run_cli.build_parser()
    parser.prog, parser.description, parser.epilog = "nlp2prod compile", __doc__.split("\n")[0], None
    parser.add_argument("--target", required=True, choices=TARGETS, help="what to emit")
    parser.add_argument("--out", required=True, help="output folder (created when missing)")
    parser.add_argument("--schedule", help=f"cron expression (default: {configs.OpsConfig.schedule!r})")
    parser.add_argument("--image", help=f"container image (default: {configs.OpsConfig.image!r})")
    parser.add_argument("--namespace", default="default", help="Kubernetes namespace (cronjob)")
    return parser


def compile_config(args) -> configs.RunConfig:
    """The config of the emitted pipeline: run's flags, then --schedule/--beam/--image, checked for the target.

    Raises:
      CompileError: an invalid cron expression, or local relative paths for a remote orchestrator.
      ValueError / BeamTargetError: bad --set overrides or Beam settings.
    """
    config = run_cli.config_from_args(args)
    ops = config.ops
    changes = {"schedule": args.schedule, "beam_target": args.beam, "image": args.image}
    ops = dataclasses.replace(ops, **{k: v for k, v in changes.items() if v})
    if not croniter.is_valid(ops.schedule):
        raise CompileError(f"--schedule {ops.schedule!r} is not a valid cron expression")
    config = with_beam_target(config.replace(ops=ops))
    if args.target in ("airflow", "kubeflow") and not _reachable_home(config.home, args.target):
        where = "a gs:// (or other remote) URL" if args.target == "kubeflow" else "an absolute path or a URL"
        raise CompileError(f"--home {config.home!r}: the {args.target} target runs elsewhere, so the home must be "
                           f"{where}")
    return config


def emit(target: str, config: configs.RunConfig, out_dir: str, namespace: str = "default") -> Dict[str, str]:
    """Writes the target's files into `out_dir`; returns their paths by kind."""
    if target == "airflow":
        from pipeline.runners.airflow import write_airflow_dag

        return {"dag": write_airflow_dag(config, out_dir)}
    if target == "kubeflow":
        from pipeline.runners.kubeflow_v2 import compile_kubeflow_v2

        return compile_kubeflow_v2(config, out_dir)
    from pipeline.runners.cronjob import write_cronjob

    return {"manifest": write_cronjob(config, out_dir, namespace)}


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of `nlp2prod compile`."""
    args = build_parser().parse_args(argv)
    try:
        config = compile_config(args)
        written = emit(args.target, config, args.out, args.namespace)
    except (ValueError, BeamTargetError) as error:
        print(f"nlp2prod compile: {error}", file=sys.stderr)
        return 2
    except RuntimeError as error:  # e.g. KFP protos missing: an environment problem, not a usage one
        print(f"nlp2prod compile: {error}", file=sys.stderr)
        return 1
    for kind, path in written.items():
        print(f"nlp2prod compile: wrote {args.target} {kind} {path}")
    print(f"  schedule {config.ops.schedule!r}, Beam: {' '.join(config.beam_args)}")
    return 0


def _reachable_home(home: str, target: str) -> bool:
    if "://" in home:
        return True
    return target == "airflow" and os.path.isabs(home)
