"""Label moves over the gateway: plan (no side effect), apply with confirmation, with serving's planner; the
embedded server picks the new models.config up by polling it, as tensorflow/serving does."""

from __future__ import annotations

import httpx
import pytest
from gateway_test_support import MODEL, RunningGateway, bearer, settings_for

from serving import rollback


@pytest.fixture
def labelled(tiny_versions, tmp_path):
    """An embedded server polling a models.config (versions 1, 2 on disk; 1 served as stable) and a gateway."""
    from serving_test_support import install

    from serving import server
    from serving.config import ServerConfig

    base = install(tiny_versions, tmp_path / MODEL, [1, 2])
    config_path = tmp_path / "models.config"
    config_path.write_text(f'model_config_list {{ config {{ name: "{MODEL}" base_path: "{base}" '
                           'model_platform: "tensorflow" model_version_policy { specific { versions: 1 } } '
                           'version_labels { key: "stable" value: 1 } } }\n')
    running = server.start(ServerConfig(host="127.0.0.1", port=0, rest_api_port=0, model_config_file=str(config_path),
                                        model_config_file_poll_wait_seconds=0.2, file_system_poll_wait_seconds=0))
    settings = settings_for(tmp_path, f"http://127.0.0.1:{running.rest_port}", model_name=MODEL,
                            model_config_file=str(config_path), label_timeout_seconds=60)
    try:
        with RunningGateway(settings) as gateway, httpx.Client(base_url=gateway.url, timeout=90) as client:
            admin = gateway.gateway.store.create("operator", ["admin"], "test")[1]
            yield client, admin, config_path
    finally:
        running.stop()


def test_plan_then_apply_canary_and_promote_and_refuse_bad_moves(labelled):
    client, admin, config_path = labelled
    before = config_path.read_text()
    plan = client.post("/v1/labels/plan", json={"action": "canary"}, headers=bearer(admin))
    assert plan.status_code == 200, plan.text
    assert plan.json()["changes"] == [{"label": "canary", "from": None, "to": 2}]
    assert config_path.read_text() == before

    applied = client.post("/v1/labels/apply", json={"action": "canary", "confirm_version": 2}, headers=bearer(admin))
    assert applied.status_code == 200, applied.text
    assert applied.json()["changes"] == [{"label": "canary", "from": None, "to": 2}]
    assert applied.json()["audit"][0]["action"] == "label.canary"
    entry = rollback.model_entry(rollback.read_config(str(config_path)), MODEL)
    assert dict(entry.version_labels) == {"stable": 1, "canary": 2}
    versions = client.get("/v1/versions", headers=bearer(admin)).json()["versions"]
    assert {v["version"]: v["labels"] for v in versions} == {1: ["stable"], 2: ["canary"]}
    assert versions[1]["state"] == "AVAILABLE" and versions[1]["metrics"]["overall"]["accuracy"] == 0.9
    lineage = client.get("/v1/versions/2/lineage", headers=bearer(admin)).json()
    assert lineage["run_id"] == "test-2"

    stale = client.post("/v1/labels/apply", json={"action": "promote", "confirm_version": 1}, headers=bearer(admin))
    assert stale.status_code == 409 and "plan again" in stale.json()["error"]
    promoted = client.post("/v1/labels/apply", json={"action": "promote", "confirm_version": 2}, headers=bearer(admin))
    assert promoted.json()["changes"] == [{"label": "canary", "from": 2, "to": None},
                                          {"label": "stable", "from": 1, "to": 2}]
    history = rollback.read_history(str(config_path) + ".audit.jsonl", MODEL)
    assert history[-1] == rollback.LabelMove("stable", 1, 2)
    back = client.post("/v1/labels/plan", json={"action": "rollback"}, headers=bearer(admin)).json()
    assert back["changes"] == [{"label": "stable", "from": 2, "to": 1}]

    assert client.post("/v1/labels/plan", json={"action": "canary"}).status_code == 401
    unknown = client.post("/v1/labels/plan", json={"action": "delete"}, headers=bearer(admin))
    assert unknown.status_code == 400 and "promote, canary, rollback" in unknown.json()["error"]
    missing = client.post("/v1/labels/plan", json={"action": "canary", "version": 7}, headers=bearer(admin))
    assert missing.status_code == 400 and "not on disk" in missing.json()["error"]
