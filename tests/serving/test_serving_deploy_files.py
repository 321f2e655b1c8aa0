"""The production deployment files: structure, the pinned image, and every config parsed with the protos.

They cannot run here (no Docker daemon, no cluster); these checks keep them consistent with each other and with
the flags and config formats of tensorflow_model_server (which `nlp2prod serve` mirrors).
"""

import os
import re

import pytest
import yaml

from serving import cli, config as config_lib

DEPLOY = os.path.join(os.path.dirname(__file__), "..", "..", "serving", "deploy")
IMAGE = "tensorflow/serving:2.16.1"


def read(*parts):
    with open(os.path.join(DEPLOY, *parts), encoding="utf-8") as handle:
        return handle.read()


def manifests():
    documents = {}
    for name in ("configmap.yaml", "pvc.yaml", "deployment.yaml", "service.yaml"):
        for document in yaml.safe_load_all(read("k8s", name)):
            documents[document["kind"]] = document
    return documents


def test_config_files_parse_with_the_serving_protos(tmp_path):
    models = config_lib.served_models(config_lib.read_model_server_config(os.path.join(DEPLOY, "models.config")))
    assert [(m.name, m.base_path) for m in models] == [("nlp2prod", "/models/nlp2prod")]
    batching = config_lib.read_batching_config(os.path.join(DEPLOY, "batching_parameters.txt"))
    assert batching.allowed_batch_sizes[-1] == batching.max_batch_size
    assert config_lib.read_prometheus_path(os.path.join(DEPLOY, "monitoring.config")) == \
        "/monitoring/prometheus/metrics"


def test_configmap_holds_the_same_three_files():
    data = manifests()["ConfigMap"]["data"]
    for name in ("models.config", "batching_parameters.txt", "monitoring.config"):
        assert data[name] == read(name)


def test_deployment_runs_the_pinned_image_with_probes_replicas_and_volumes():
    documents = manifests()
    deployment = documents["Deployment"]
    spec = deployment["spec"]
    assert spec["replicas"] >= 2 and spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    (container,) = spec["template"]["spec"]["containers"]
    assert container["image"] == IMAGE
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"grpc": 8500, "http": 8501}
    readiness = container["readinessProbe"]["httpGet"]
    assert readiness["path"] == "/v1/models/nlp2prod/metadata" and readiness["port"] == "http"
    assert "livenessProbe" in container
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["template"]["spec"]["volumes"]}
    assert mounts["models"]["mountPath"] == "/models" and mounts["models"]["readOnly"]
    assert volumes["models"]["persistentVolumeClaim"]["claimName"] == documents["PersistentVolumeClaim"]["metadata"]["name"]
    assert volumes["config"]["configMap"]["name"] == documents["ConfigMap"]["metadata"]["name"]
    assert mounts["config"]["mountPath"] == "/config"
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert documents["Service"]["spec"]["selector"] == selector
    assert {p["port"] for p in documents["Service"]["spec"]["ports"]} == {8500, 8501}


def _flags_point_at_mounted_files(args):
    files = {re.sub(r"^--(\w+)=.*", r"\1", a): a.split("=", 1)[1] for a in args if a.endswith((".config", ".txt"))}
    assert files == {"model_config_file": "/config/models.config",
                     "batching_parameters_file": "/config/batching_parameters.txt",
                     "monitoring_config_file": "/config/monitoring.config"}


def test_server_flags_are_tensorflow_model_server_flags_and_agree_everywhere():
    (container,) = manifests()["Deployment"]["spec"]["template"]["spec"]["containers"]
    args = container["args"]
    dockerfile = read("Dockerfile")
    assert re.search(r"^FROM tensorflow/serving:2\.16\.1$", dockerfile, re.MULTILINE)
    docker_args = re.findall(r'"(--[a-z_]+=[^"]*)"', dockerfile)
    assert docker_args == args
    _flags_point_at_mounted_files(args)
    # `nlp2prod serve` mirrors tensorflow_model_server's flags: each one used here must parse there too.
    parsed = cli._serve_parser().parse_args(args)
    assert parsed.enable_batching and parsed.allow_version_labels_for_unavailable_models


def test_compose_serves_both_ports_behind_the_gateway_and_mounts_the_serving_root():
    services = yaml.safe_load(read("docker-compose.yml"))["services"]
    compose = services["serving"]
    # Clients reach TF Serving only through the keyed gateway (REST 8080) and Envoy (gRPC 8500).
    assert set(compose["expose"]) == {"8500", "8501"} and "ports" not in compose
    assert services["envoy"]["ports"] == ["8500:8500"] and services["gateway"]["ports"] == ["8080:8080"]
    assert "../../.nlp2prod/serving:/models:ro" in compose["volumes"]
    assert compose["image"].endswith(":2.16.1")


@pytest.mark.parametrize("name", ["models.config", "batching_parameters.txt", "monitoring.config"])
def test_broken_config_files_are_reported_with_their_name(tmp_path, name):
    path = tmp_path / name
    path.write_text("this is { not a proto")
    readers = {"models.config": config_lib.read_model_server_config,
               "batching_parameters.txt": config_lib.read_batching_config,
               "monitoring.config": config_lib.read_prometheus_path}
    with pytest.raises(config_lib.ConfigError, match=re.escape(str(path))):
        readers[name](str(path))
