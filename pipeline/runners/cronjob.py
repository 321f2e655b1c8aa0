"""Kubernetes: a CronJob that runs `nlp2prod run` in the project image on the schedule, and its state volume.

`concurrencyPolicy: Forbid` keeps firings from overlapping across pods, and the run lock inside the volume does
the same for anything else that runs against it. The run's home (lock, MLMD, pipeline root, run history, and with
the default paths the data root) lives on its own PersistentVolumeClaim. With the default serving root the job
pushes into the serving deployment's claim (`nlp2prod-models` of serving/deploy/k8s, mounted at /models), which
the TF Serving replicas mount read-only: a pushed version is picked up by every replica. Apply serving/deploy/k8s
first (it owns that claim).
"""

from __future__ import annotations

import dataclasses
import os
import posixpath
from typing import List

import yaml

from pipeline.configs import RunConfig, default_data_root, default_serving_root, for_home

MANIFEST_FILE = "cronjob.yaml"
WORKING_DIR = "/workspace"
HOME_CLAIM = "nlp2prod-home"
# The serving root claim and mount of serving/deploy/k8s (its models.config serves /models/<model name>).
SERVING_CLAIM = "nlp2prod-models"
SERVING_MOUNT = "/models"

# Fields `nlp2prod run` takes as flags of their own; every other difference from the defaults goes as --set.
_TOP_LEVEL_FLAGS = ("home",)


def pushes_to_serving_claim(config: RunConfig) -> bool:
    """True when the config keeps the default serving root, which the job replaces by the serving claim."""
    return config.push.serving_root == default_serving_root(config.home)


def run_arguments(config: RunConfig) -> List[str]:
    """Arguments of `nlp2prod run` that rebuild `config` (each field that differs from the defaults), with the
    serving root moved to the serving claim's mount when it was the default."""
    defaults = for_home(config.home)
    args = ["--home", config.home]
    if pushes_to_serving_claim(config):
        args += ["--serving-root", SERVING_MOUNT]
    if not config.enable_cache:
        args.append("--no-cache")
    for section in dataclasses.fields(RunConfig):
        value, default = getattr(config, section.name), getattr(defaults, section.name)
        if dataclasses.is_dataclass(value):
            args += _section_overrides(section.name, value, default, config.home)
    return args


def _section_overrides(name: str, value, default, home: str) -> List[str]:
    args = []
    for field in dataclasses.fields(value):
        current, base = getattr(value, field.name), getattr(default, field.name)
        if (name, field.name) == ("data", "data_root") and current == default_data_root(home):
            continue
        if (name, field.name) == ("push", "serving_root"):
            if current != default_serving_root(home):
                args += ["--serving-root", current]
            continue
        if current != base:
            text = ",".join(current) if isinstance(current, tuple) else str(current)
            args += ["--set", f"{name}.{field.name}={text}"]
    return args


def cronjob_manifest(config: RunConfig, namespace: str = "default") -> List[dict]:
    """The PersistentVolumeClaim and CronJob objects (plain dicts, in apply order)."""
    mount = config.home if posixpath.isabs(config.home) else posixpath.join(WORKING_DIR, config.home)
    labels = {"app.kubernetes.io/name": config.pipeline_name, "app.kubernetes.io/component": "training"}
    claim = {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": HOME_CLAIM, "namespace": namespace, "labels": dict(labels)},
        "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "20Gi"}}},
    }
    container = {
        "name": "pipeline",
        "image": config.ops.image,
        "workingDir": WORKING_DIR,
        "command": ["nlp2prod", "run"],
        "args": run_arguments(config),
        "env": [{"name": "TF_USE_LEGACY_KERAS", "value": "1"}, {"name": "TF_CPP_MIN_LOG_LEVEL", "value": "2"}],
        "resources": {"requests": {"cpu": "2", "memory": "8Gi"}, "limits": {"memory": "16Gi"}},
        "volumeMounts": [{"name": "home", "mountPath": mount}],
    }
    volumes = [{"name": "home", "persistentVolumeClaim": {"claimName": HOME_CLAIM}}]
    if pushes_to_serving_claim(config):
        container["volumeMounts"].append({"name": "models", "mountPath": SERVING_MOUNT})
        volumes.append({"name": "models", "persistentVolumeClaim": {"claimName": SERVING_CLAIM}})
    job_spec = {
        # A failed run is recorded in the run history; retrying it blindly would only repeat the failure.
        "backoffLimit": 0,
        "template": {
            "metadata": {"labels": dict(labels)},
            "spec": {"restartPolicy": "Never", "containers": [container], "volumes": volumes},
        },
    }
    cronjob = {
        "apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": f"{config.pipeline_name}-pipeline", "namespace": namespace,
                     "labels": dict(labels)},
        "spec": {"schedule": config.ops.schedule, "concurrencyPolicy": "Forbid",
                 "startingDeadlineSeconds": 3600, "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 5,
                 "jobTemplate": {"spec": job_spec}},
    }
    return [claim, cronjob]


def write_cronjob(config: RunConfig, out_dir: str, namespace: str = "default") -> str:
    """Writes the manifest (`kubectl apply -f cronjob.yaml`) into `out_dir` and returns its path."""
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, MANIFEST_FILE)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(f"# {config.pipeline_name}: scheduled training, generated by `nlp2prod compile --target "
                     f"cronjob`.\n# Apply with: kubectl apply -f {MANIFEST_FILE}\n")
        yaml.safe_dump_all(cronjob_manifest(config, namespace), handle, sort_keys=False)
    return path
