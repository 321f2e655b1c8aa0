"""What the request path keeps off itself: the inference fast path answers like the documented routes, usage
counted in memory reaches the store on a clean shutdown, and a cached key lookup expires within its TTL."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from gateway_test_support import MODEL, SECRET, RunningGateway, bearer, settings_for

from gateway.auth import Authenticator
from gateway.errors import Unauthenticated
from gateway.middleware import CONTENT_SECURITY_POLICY
from gateway.store import open_store


def test_the_fast_path_relays_the_backends_answer_and_leaves_other_paths_to_fastapi(client, keys, backend_url):
    body = {"instances": ["hello there", "bonjour"]}
    for address in ("", "/versions/1", "/labels/stable"):
        direct = httpx.post(f"{backend_url}/v1/models/{MODEL}{address}:predict", json=body, trust_env=False)
        proxied = client.post(f"/v1/models/{MODEL}{address}:predict", json=body, headers=bearer(keys["predict"]))
        assert direct.status_code == 200
        assert (proxied.status_code, proxied.content) == (direct.status_code, direct.content)
        assert proxied.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    examples = {"examples": [{"text": "hi"}]}
    classified = client.post(f"/v1/models/{MODEL}:classify", json=examples, headers=bearer(keys["predict"]))
    direct = httpx.post(f"{backend_url}/v1/models/{MODEL}:classify", json=examples, trust_env=False)
    assert (classified.status_code, classified.content) == (direct.status_code, direct.content)
    unkeyed = client.post(f"/v1/models/{MODEL}:predict", json=body)
    assert unkeyed.status_code == 401 and "Bearer" in unkeyed.headers["www-authenticate"]
    read_only = client.post(f"/v1/models/{MODEL}:predict", json=body, headers=bearer(keys["read"]))
    assert read_only.status_code == 403 and "'predict' scope" in read_only.json()["error"]
    # Not an inference path the fast path knows: FastAPI's route validation answers, in the same JSON shape.
    named_version = client.post(f"/v1/models/{MODEL}/versions/one:predict", json=body,
                                headers=bearer(keys["predict"]))
    assert named_version.status_code == 400 and "version" in named_version.json()["error"]


def test_usage_counted_in_memory_reaches_the_store_on_a_clean_shutdown(tmp_path, backend_url):
    settings = settings_for(tmp_path, backend_url, model_name=MODEL, usage_flush_seconds=3600.0)
    with RunningGateway(settings) as running, httpx.Client(base_url=running.url, trust_env=False) as client:
        record, key = running.gateway.store.create("metered", ["predict"], "test")
        for texts in (["a"], ["b", "c"], ["d", "e", "f"]):
            assert client.post(f"/v1/models/{MODEL}:predict", json={"instances": texts},
                               headers=bearer(key)).status_code == 200
        assert client.post(f"/v1/models/{MODEL}/versions/9:predict", json={"instances": ["g"]},
                           headers=bearer(key)).status_code == 404
        assert running.gateway.store.usage(key_id=record.key_id) == []  # nothing written on the request path
    reopened = open_store(settings.database_url, SECRET)
    try:
        rows = reopened.usage(key_id=record.key_id)
    finally:
        reopened.close()
    assert [(r["requests"], r["texts"], r["errors"]) for r in rows] == [(4, 7, 1)]


def test_a_cached_key_is_trusted_for_at_most_the_cache_time(tmp_path):
    store = open_store(f"sqlite:///{tmp_path}/keys.db", SECRET)
    now = [100.0]
    authenticator = Authenticator(store, SECRET, cache_seconds=2.0, clock=lambda: now[0])
    record, key = store.create("cached", ["predict"], "test")
    header = f"Bearer {key}"
    try:
        assert asyncio.run(authenticator.authenticate(header)).key_id == record.key_id
        store.revoke(record.key_id)  # as another replica or `nlp2prod keys revoke` would
        now[0] += 1.9
        assert asyncio.run(authenticator.authenticate(header)).key_id == record.key_id  # still the cached read
        now[0] += 0.2
        with pytest.raises(Unauthenticated) as refused:
            asyncio.run(authenticator.authenticate(header))
        assert "revoked" in refused.value.message and key not in refused.value.message
    finally:
        store.close()
