"""Every Kubernetes manifest we ship, and those `nlp2prod compile --target cronjob` writes, validated offline by
`kubernetes-validate --strict` against the API schemas of the oldest and newest Kubernetes we support.

Manifests are found, not listed: any YAML document with `apiVersion` and `kind` under a `deploy/` folder of the
repository (so the ones later features add are checked too). A `Kustomization` has no API schema: it is checked to
name every other manifest of its folder instead.
"""

import glob
import os
import subprocess
import sys

import pytest
import yaml

from pipeline import compile_cli

pytestmark = pytest.mark.engines

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")
VALIDATOR = os.path.join(os.path.dirname(sys.executable), "kubernetes-validate")


def _documents(path):
    with open(path, encoding="utf-8") as handle:
        return [doc for doc in yaml.safe_load_all(handle) if isinstance(doc, dict)]


def _is_resource(document):
    return "apiVersion" in document and "kind" in document


def _is_builtin(document):
    """A resource of Kubernetes' own APIs (core, apps, batch, *.k8s.io): the bundled schemas cover those; a
    custom resource such as Prometheus Operator's PrometheusRule has no schema to validate against."""
    group = document["apiVersion"].rpartition("/")[0]
    return "." not in group or group.endswith(".k8s.io")


def shipped_manifests():
    """(path, documents) of every YAML file under a deploy/ folder holding Kubernetes resources."""
    found = []
    for pattern in ("*.yaml", "*.yml"):
        for path in glob.glob(os.path.join(REPO, "**", "deploy", "**", pattern), recursive=True):
            if "/.venv" in path:
                continue
            documents = [doc for doc in _documents(path) if _is_resource(doc)]
            if documents:
                found.append((path, documents))
    return sorted(found)


def _validate(paths, version):
    return subprocess.run([VALIDATOR, "--strict", "--no-warn", "-k", version, *paths],
                          capture_output=True, text=True, timeout=120)


def _compiled_cronjobs(tmp_path):
    outputs = []
    for name, extra in (("default", []), ("explicit", ["--serving-root", "/mnt/models", "--namespace", "ml",
                                                        "--image", "reg/nlp2prod:7", "--beam", "multiprocess"])):
        out = tmp_path / name
        assert compile_cli.main(["--target", "cronjob", "--out", str(out), *extra]) == 0
        outputs.append(str(out / "cronjob.yaml"))
    return outputs


def test_the_serving_and_pipeline_manifests_are_found():
    kinds = {doc["kind"] for _, documents in shipped_manifests() for doc in documents}
    assert {"Deployment", "Service", "ConfigMap", "PersistentVolumeClaim", "Kustomization"} <= kinds
    # Custom resources are left out of the schema validation below: only the ones named here may be shipped.
    custom = {doc["kind"] for _, documents in shipped_manifests() for doc in documents if not _is_builtin(doc)}
    assert custom <= {"PrometheusRule"}, custom


def test_each_kustomization_names_every_manifest_of_its_folder():
    for path, documents in shipped_manifests():
        for document in documents:
            if document["kind"] != "Kustomization":
                continue
            folder = os.path.dirname(path)
            siblings = {os.path.basename(p) for p, _ in shipped_manifests() if os.path.dirname(p) == folder}
            assert set(document["resources"]) == siblings - {os.path.basename(path)}, path


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_manifest_passes_strict_validation(tmp_path, version):
    paths = [path for path, documents in shipped_manifests()
             if any(doc["kind"] != "Kustomization" and _is_builtin(doc) for doc in documents)]
    paths += _compiled_cronjobs(tmp_path)
    result = _validate(paths, version)
    assert result.returncode == 0, result.stdout + result.stderr
    passed = [line for line in result.stdout.splitlines() if " passed for resource " in line]
    expected = sum(1 for path in paths for doc in _documents(path) if _is_resource(doc) and _is_builtin(doc))
    assert len(passed) == expected, result.stdout


def test_strict_validation_rejects_a_misspelled_field(tmp_path):
    path = sorted(_compiled_cronjobs(tmp_path))[0]
    claim, cronjob = _documents(path)
    cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["workdir"] = "/workspace"
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump_all([claim, cronjob]))
    result = _validate([str(broken)], KUBERNETES_VERSIONS[0])
    assert result.returncode != 0
    assert "workdir" in result.stdout + result.stderr
