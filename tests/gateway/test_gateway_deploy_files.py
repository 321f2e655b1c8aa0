"""The gateway's deploy files beside tensorflow/serving:2.16.1: consistent with each other and with the gateway.

No Docker or cluster here: these checks parse the files and compare them with the code they configure.
"""

from __future__ import annotations

import os

import yaml

from gateway import cli

DEPLOY = os.path.join(os.path.dirname(__file__), "..", "..", "serving", "deploy")


def _read(*parts: str) -> str:
    with open(os.path.join(DEPLOY, *parts), encoding="utf-8") as stream:
        return stream.read()


def _documents():
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(_read("k8s", "gateway.yaml"))}


def test_kubernetes_gateway_has_replicas_readiness_and_its_secrets():
    documents = _documents()
    spec = documents[("Deployment", "nlp2prod-gateway")]["spec"]
    assert spec["replicas"] >= 2 and spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    (container,) = spec["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/v1/health"
    secrets = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"]}
    assert set(secrets) == {"N2P_GATEWAY_SECRET", "N2P_GATEWAY_DATABASE_URL"}
    assert {ref["name"] for ref in secrets.values()} == {"nlp2prod-gateway"}
    parsed = cli._gateway_parser().parse_args(container["args"])
    assert parsed.backend_url == "http://nlp2prod-serving:8501" and parsed.port == 8080
    selector = spec["selector"]["matchLabels"]
    assert documents[("Service", "nlp2prod-gateway")]["spec"]["selector"] == selector
    kustomization = yaml.safe_load(_read("k8s", "kustomization.yaml"))
    assert "gateway.yaml" in kustomization["resources"]
    assert kustomization["configMapGenerator"][0]["name"] == "nlp2prod-envoy"


def _ext_authz(envoy: dict) -> dict:
    (listener,) = envoy["static_resources"]["listeners"]
    manager = listener["filter_chains"][0]["filters"][0]["typed_config"]
    (authz,) = [f for f in manager["http_filters"] if f["name"] == "envoy.filters.http.ext_authz"]
    assert manager["http_filters"][-1]["name"] == "envoy.filters.http.router"
    return authz["typed_config"]


def test_envoy_checks_every_grpc_call_with_the_gateway_and_fails_closed():
    envoy = yaml.safe_load(_read("k8s", "envoy.yaml"))
    authz = _ext_authz(envoy)
    assert authz["failure_mode_allow"] is False
    service = authz["http_service"]
    assert service["path_prefix"] == "/v1/authz"
    assert {"exact": "authorization"} in service["authorization_request"]["allowed_headers"]["patterns"]
    clusters = {c["name"]: c for c in envoy["static_resources"]["clusters"]}
    address = lambda c: c["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]  # noqa: E731
    assert address(clusters["serving_grpc"]) == {"address": "nlp2prod-serving", "port_value": 8500}
    assert address(clusters["gateway"]) == {"address": "nlp2prod-gateway", "port_value": 8080}
    assert "http2_protocol_options" in str(clusters["serving_grpc"])
    documents = _documents()
    envoy_pod = documents[("Deployment", "nlp2prod-grpc")]["spec"]["template"]["spec"]
    assert envoy_pod["volumes"][0]["configMap"]["name"] == "nlp2prod-envoy"


def test_compose_puts_gateway_and_envoy_beside_the_pinned_server():
    services = yaml.safe_load(_read("docker-compose.yml"))["services"]
    assert services["serving"]["image"].endswith(":2.16.1") and "FROM tensorflow/serving:2.16.1" in _read("Dockerfile")
    assert "nlp2prod-serving" in services["serving"]["networks"]["default"]["aliases"]
    assert "nlp2prod-gateway" in services["gateway"]["networks"]["default"]["aliases"]
    assert services["gateway"]["build"]["dockerfile"] == "serving/deploy/gateway.Dockerfile"
    assert "./k8s/envoy.yaml:/etc/envoy/envoy.yaml:ro" in services["envoy"]["volumes"]
    dockerfile = _read("gateway.Dockerfile")
    assert "tensorflow==" not in dockerfile and '".[gateway]"' in dockerfile
