"""The gateway in front of the real embedded server: keyed calls pass, everything else gets 401/403."""

from __future__ import annotations

import datetime
import json

import httpx
from gateway_test_support import MODEL, RunningGateway, bearer, settings_for, wait_for

from gateway.store import utc_now


def test_a_keyed_request_is_answered_and_an_unkeyed_one_refused(client, keys):
    texts = ["hello there", "bonjour tout le monde", "こんにちは 世界"]
    answer = client.post(f"/v1/models/{MODEL}/labels/stable:predict", json={"instances": texts},
                         headers=bearer(keys["predict"]))
    assert answer.status_code == 200, answer.text
    rows = answer.json()["predictions"]
    assert len(rows) == 3 and {"label", "probabilities"} <= set(rows[0])

    refused = client.post(f"/v1/models/{MODEL}:predict", json={"instances": texts})
    assert refused.status_code == 401
    assert "Authorization: Bearer" in refused.json()["error"]
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")


def test_classify_gives_label_probabilities_and_version_per_text(client, keys):
    answer = client.post("/v1/classify", json={"texts": ["hello there", "wie geht es dir"], "label": "canary"},
                         headers=bearer(keys["predict"]))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["model"] == MODEL and body["version"] == 2
    for prediction in body["predictions"]:
        assert set(prediction["probabilities"]) == {"food", "greetings", "sports"}
        assert abs(sum(prediction["probabilities"].values()) - 1.0) < 1e-4
        assert prediction["label"] == max(prediction["probabilities"], key=prediction["probabilities"].get)
    direct = client.post(f"/v1/models/{MODEL}/versions/2:predict", json={"instances": ["hello there"]},
                         headers=bearer(keys["predict"])).json()["predictions"][0]
    assert direct["label"] == body["predictions"][0]["label"]
    pinned = client.post("/v1/classify", json={"texts": ["hello"], "version": 1}, headers=bearer(keys["admin"]))
    assert pinned.json()["version"] == 1


def test_wrong_expired_revoked_keys_and_missing_scopes(gateway, client, keys):
    forged = keys["predict"][:-4] + "AAAA"
    wrong = client.get(f"/v1/models/{MODEL}", headers=bearer(forged))
    assert wrong.status_code == 401 and forged not in wrong.text and "not valid" in wrong.json()["error"]

    store = gateway.gateway.store
    record, expiring = store.create("expiring", ["read"], "test",
                                    expires_at=utc_now().replace(microsecond=0) + datetime.timedelta(seconds=1))
    wait_for(lambda: utc_now() > record.expires_at, what="the key to expire")
    gateway.gateway.authenticator.forget(record.key_id)
    expired = client.get(f"/v1/models/{MODEL}", headers=bearer(expiring))
    assert expired.status_code == 401 and "expired" in expired.json()["error"] and expiring not in expired.text

    denied = client.post(f"/v1/models/{MODEL}:predict", json={"instances": ["x"]}, headers=bearer(keys["read"]))
    assert denied.status_code == 403 and "lacks the 'predict' scope" in denied.json()["error"]
    assert client.get("/v1/keys", headers=bearer(keys["predict"])).status_code == 403
    status = client.get(f"/v1/models/{MODEL}/versions/1", headers=bearer(keys["read"]))
    assert status.status_code == 200 and status.json()["model_version_status"][0]["state"] == "AVAILABLE"
    assert client.get(f"/v1/models/{MODEL}/metadata", headers=bearer(keys["read"])).status_code == 200
    assert client.get("/v1/whoami", headers=bearer(keys["read"])).json()["scopes"] == ["read"]


def test_backend_errors_come_back_unchanged(client, keys):
    missing = client.get("/v1/models/no-such-model", headers=bearer(keys["read"]))
    assert missing.status_code == 404 and "no-such-model" in missing.json()["error"]


def test_revocation_reaches_another_replica_within_the_cache_time(tmp_path, backend_url, gateway, client, keys):
    with RunningGateway(settings_for(tmp_path, backend_url, model_name=MODEL)) as replica, \
            httpx.Client(base_url=replica.url, trust_env=False) as other:
        assert other.get("/v1/whoami", headers=bearer(keys["predict"])).status_code == 200
        key_id = other.get("/v1/whoami", headers=bearer(keys["predict"])).json()["key_id"]
        assert client.delete(f"/v1/keys/{key_id}", headers=bearer(keys["admin"])).status_code == 200
        assert client.get("/v1/whoami", headers=bearer(keys["predict"])).status_code == 401
        wait_for(lambda: other.get("/v1/whoami", headers=bearer(keys["predict"])).status_code == 401,
                 timeout=gateway.settings.key_cache_seconds + 5, what="the other replica to see the revocation")
        assert "revoked" in other.get("/v1/whoami", headers=bearer(keys["predict"])).json()["error"]


def test_keys_over_the_api_usage_export_and_an_audit_without_keys(gateway, client, keys):
    created = client.post("/v1/keys", json={"name": "partner", "scopes": ["predict"], "expires_in_days": 30},
                          headers=bearer(keys["admin"]))
    assert created.status_code == 201, created.text
    new_key = created.json()["key"]
    listed = client.get("/v1/keys", headers=bearer(keys["admin"])).json()["keys"]
    assert "partner" in [k["name"] for k in listed] and new_key not in json.dumps(listed)
    for _ in range(3):
        client.post("/v1/classify", json={"texts": ["a", "b"]}, headers=bearer(new_key))
    client.post(f"/v1/models/{MODEL}/versions/9:predict", json={"instances": ["a"]}, headers=bearer(new_key))
    rows = client.get("/v1/usage", params={"key_id": created.json()["key_id"]}, headers=bearer(keys["admin"]))
    assert [(r["requests"], r["texts"], r["errors"]) for r in rows.json()["usage"]] == [(4, 7, 1)]
    csv_text = client.get("/v1/usage", params={"format": "csv"}, headers=bearer(keys["admin"])).text
    assert csv_text.splitlines()[0] == "day,key_id,name,requests,texts,errors" and "partner" in csv_text

    client.delete(f"/v1/keys/{created.json()['key_id']}", headers=bearer(keys["admin"]))
    entries = client.get("/v1/audit", headers=bearer(keys["admin"])).json()["entries"]
    assert [e["action"] for e in entries[:2]] == ["key.revoke", "key.create"]
    audit_text = open(gateway.settings.audit_log, encoding="utf-8").read()
    assert all(key not in audit_text for key in [new_key, *keys.values()]) and "n2p_" not in audit_text
