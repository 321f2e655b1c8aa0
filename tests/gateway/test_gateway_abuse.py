"""Bad input and abuse: oversized bodies, malformed JSON, header injection, a flooding key, a backend that is down."""

from __future__ import annotations

import socket
import time

import httpx
import pytest
from gateway_test_support import MODEL, RecordingBackend, RunningGateway, bearer, free_port, settings_for


def test_an_oversized_body_is_refused_with_413(tmp_path, backend_url):
    with RunningGateway(settings_for(tmp_path, backend_url, model_name=MODEL, max_body_bytes=2048)) as running, \
            httpx.Client(base_url=running.url, trust_env=False) as client:
        key = running.gateway.store.create("big", ["predict"], "test")[1]
        big = {"instances": ["x" * 4096]}
        declared = client.post(f"/v1/models/{MODEL}:predict", json=big, headers=bearer(key))
        assert declared.status_code == 413 and "2048 bytes" in declared.json()["error"]

        def chunks():
            for _ in range(8):
                yield b"x" * 1024

        streamed = client.post(f"/v1/models/{MODEL}:predict", content=chunks(), headers=bearer(key))
        assert streamed.status_code == 413


@pytest.mark.parametrize("body", [b"{not json", b"", b"\xff\xfe", b"[1, 2]", b'{"instances": ["a"]'])
def test_malformed_json_gets_a_clear_400(client, keys, body):
    answer = client.post(f"/v1/models/{MODEL}:predict", content=body, headers=bearer(keys["predict"]))
    assert answer.status_code == 400
    assert answer.json()["error"].startswith(("the request body is not valid JSON", "the request body must be"))


def test_a_bad_classify_body_names_the_field(client, keys):
    answer = client.post("/v1/classify", json={"texts": "not a list"}, headers=bearer(keys["predict"]))
    assert answer.status_code == 400 and "texts" in answer.json()["error"]
    empty = client.post("/v1/classify", json={"texts": []}, headers=bearer(keys["predict"]))
    assert empty.status_code == 400 and "texts" in empty.json()["error"]


def _raw_request(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        chunks = []
        while True:
            chunk = connection.recv(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def test_header_injection_goes_nowhere(tmp_path, keys, gateway):
    key = keys["predict"].encode()
    injected = _raw_request(gateway.port, b"GET /v1/whoami HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                                          + key + b"\rX-Admin: 1\r\nConnection: close\r\n\r\n")
    assert injected.startswith(b"HTTP/1.1 400")
    encoded = _raw_request(gateway.port, b"GET /v1/models/" + MODEL.encode() + b"%0d%0aX-Evil:%201/metadata"
                                         b" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + key
                                         + b"\r\nConnection: close\r\n\r\n")
    head = encoded.split(b"\r\n\r\n", 1)[0]
    assert head.startswith(b"HTTP/1.1 400") and b"x-evil" not in head.lower()

    with RecordingBackend() as recorder, \
            RunningGateway(settings_for(tmp_path / "recorded", recorder.url, model_name=MODEL)) as running, \
            httpx.Client(base_url=running.url, trust_env=False) as client:
        own = running.gateway.store.create("forwarding", ["predict"], "test")[1]
        client.post(f"/v1/models/{MODEL}:predict", json={"instances": ["a"]},
                    headers={**bearer(own), "Cookie": "session=1", "X-Forwarded-For": "6.6.6.6", "Host": "evil"})
        forwarded = {name.lower() for name in recorder.seen[-1]["headers"]}
        assert recorder.seen[-1]["path"] == f"/v1/models/{MODEL}:predict"
        assert not forwarded & {"authorization", "cookie", "x-forwarded-for"}
        assert "evil" not in recorder.seen[-1]["headers"].get("Host", "")


def test_a_flooding_key_is_limited_while_another_keeps_working(tmp_path, backend_url):
    settings = settings_for(tmp_path, backend_url, model_name=MODEL, default_rate_per_second=2, default_burst=5)
    with RunningGateway(settings) as running, httpx.Client(base_url=running.url, trust_env=False) as client:
        flooder = running.gateway.store.create("flooder", ["read"], "test")[1]
        polite = running.gateway.store.create("polite", ["read"], "test")[1]
        statuses = [client.get(f"/v1/models/{MODEL}", headers=bearer(flooder)).status_code for _ in range(30)]
        assert statuses[:5] == [200] * 5 and statuses.count(429) >= 20
        limited = client.get(f"/v1/models/{MODEL}", headers=bearer(flooder))
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
        assert "rate limit" in limited.json()["error"]
        assert [client.get(f"/v1/models/{MODEL}", headers=bearer(polite)).status_code for _ in range(5)] == [200] * 5


def test_a_backend_that_is_down_answers_503_at_once(tmp_path):
    down = f"http://127.0.0.1:{free_port()}"
    with RunningGateway(settings_for(tmp_path, down, model_name=MODEL, backend_timeout_seconds=60)) as running, \
            httpx.Client(base_url=running.url, trust_env=False, timeout=60) as client:
        key = running.gateway.store.create("any", ["predict"], "test")[1]
        started = time.monotonic()
        answer = client.post("/v1/classify", json={"texts": ["hello"]}, headers=bearer(key))
        proxied = client.post(f"/v1/models/{MODEL}:predict", json={"instances": ["hello"]}, headers=bearer(key))
        elapsed = time.monotonic() - started
        assert answer.status_code == proxied.status_code == 503
        assert "not reachable" in answer.json()["error"] and down in answer.json()["error"]
        assert answer.headers["Retry-After"] == "1"
        assert elapsed < 10, f"a refused connection must not wait for the 60 s backend timeout ({elapsed:.1f}s)"


def test_unknown_paths_and_methods_answer_json(client, keys):
    assert client.get("/v1/nothing-here").json() == {"error": "no such endpoint (see /docs)"}
    assert client.delete(f"/v1/models/{MODEL}", headers=bearer(keys["admin"])).status_code == 405
