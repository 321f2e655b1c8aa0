"""Every REST endpoint over real HTTP, and each kind of bad input answered with a clear 4xx."""

import base64
import json
import socket

import pytest

from serving.sample_model import LABELS, text_example
from serving_test_support import MODEL, SCORER

TEXTS = ["hello there", "una pizza margherita"]


def test_status_of_a_model_a_version_and_a_label(rest):
    status, body = rest.call("GET", f"/v1/models/{MODEL}")
    assert status == 200
    assert body["model_version_status"] == [
        {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}},
        {"version": "2", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]
    assert rest.call("GET", f"/v1/models/{MODEL}/versions/1")[1]["model_version_status"][0]["version"] == "1"
    assert rest.call("GET", f"/v1/models/{MODEL}/labels/canary")[1]["model_version_status"][0]["version"] == "2"


def test_metadata_lists_signatures(rest):
    status, body = rest.call("GET", f"/v1/models/{MODEL}/labels/stable/metadata")
    assert status == 200
    assert body["model_spec"] == {"name": MODEL, "signature_name": "", "version": "1"}
    signatures = body["metadata"]["signature_def"]["signature_def"]
    assert signatures["classify"]["method_name"] == "tensorflow/serving/classify"
    assert signatures["serving_default"]["inputs"]["text"]["dtype"] == "DT_STRING"


def test_predict_row_format(rest):
    status, body = rest.call("POST", f"/v1/models/{MODEL}:predict", {"instances": TEXTS})
    assert status == 200
    assert len(body["predictions"]) == 2
    for row in body["predictions"]:
        assert set(row) == {"probabilities", "label"}
        assert row["label"] == LABELS[max(range(len(LABELS)), key=row["probabilities"].__getitem__)]


def test_predict_columnar_format_by_version_with_b64(rest):
    encoded = [{"b64": base64.b64encode(t.encode()).decode()} for t in TEXTS]
    status, body = rest.call("POST", f"/v1/models/{MODEL}/versions/1:predict", {"inputs": {"text": encoded}})
    assert status == 200
    _, plain = rest.call("POST", f"/v1/models/{MODEL}/labels/stable:predict", {"inputs": TEXTS})
    assert body["outputs"] == plain["outputs"]
    assert len(body["outputs"]["label"]) == 2 and len(body["outputs"]["probabilities"][0]) == len(LABELS)


def test_predict_named_signature_with_row_objects(rest):
    instances = [{"examples": {"b64": base64.b64encode(text_example(t)).decode()}} for t in TEXTS]
    status, body = rest.call("POST", f"/v1/models/{MODEL}:predict",
                             {"signature_name": "from_examples", "instances": instances})
    assert status == 200
    _, direct = rest.call("POST", f"/v1/models/{MODEL}:predict", {"instances": TEXTS})
    assert [r["label"] for r in body["predictions"]] == [r["label"] for r in direct["predictions"]]


def test_classify_and_regress(rest):
    examples = [{"text": t} for t in TEXTS]
    status, body = rest.call("POST", f"/v1/models/{MODEL}:classify",
                             {"signature_name": "classify", "examples": examples})
    assert status == 200
    assert [label for label, _ in body["results"][0]] == list(LABELS)
    status, body = rest.call("POST", f"/v1/models/{SCORER}:regress",
                             {"signature_name": "regress", "context": {"lang": "en"}, "examples": examples})
    assert status == 200 and len(body["results"]) == 2


def test_list_models_and_readiness(rest):
    status, body = rest.call("GET", "/v1/models")
    assert status == 200
    models = {m["name"]: m for m in body["models"]}
    assert set(models) == {MODEL, SCORER}
    assert models[MODEL]["labels"] == {"stable": 1, "canary": 2}
    assert rest.call("GET", "/v1/ready") == (200, {"ready": True, "models": {MODEL: "AVAILABLE",
                                                                              SCORER: "AVAILABLE"}})


def test_openapi_document_describes_the_routes(rest):
    status, document = rest.call("GET", "/v1/openapi.json")
    assert status == 200 and document["openapi"].startswith("3.")
    for path in ("/v1/models", "/v1/ready", "/v1/models/{model_name}:predict",
                 "/v1/models/{model_name}/labels/{label}:classify", "/monitoring/prometheus/metrics"):
        assert path in document["paths"]


def test_prometheus_metrics_use_tf_serving_names_and_per_version_series(rest):
    rest.call("POST", f"/v1/models/{MODEL}/versions/1:predict", {"instances": TEXTS})
    status, text = rest.call("GET", "/monitoring/prometheus/metrics")
    assert status == 200
    assert "# TYPE :tensorflow:serving:request_count counter" in text
    assert f':tensorflow:serving:request_count{{model_name="{MODEL}",status="OK"}}' in text
    assert f':tensorflow:serving:request_latency_bucket{{model_name="{MODEL}",API="predict",entrypoint="REST"' in text
    assert ":tensorflow:serving:runtime_latency_count" in text
    assert ":tensorflow:serving:model_warmup_latency_count" in text
    assert f':nlp2prod:serving:version_request_count{{model_name="{MODEL}",version="1",status="OK"}}' in text


@pytest.mark.parametrize("path, body, status, words", [
    (f"/v1/models/{MODEL}:predict", b"{\"instances\": [", 400, "JSON Parse error"),
    (f"/v1/models/{MODEL}:predict", b"[1, 2]", 400, "Is not object"),
    (f"/v1/models/{MODEL}:predict", b"", 400, "document is empty"),
    (f"/v1/models/{MODEL}:predict", {"instances": ["a"], "inputs": ["a"]}, 400, "only one of 'inputs' or 'instances'"),
    (f"/v1/models/{MODEL}:predict", {"signature_name": "serving_default"}, 400, "Missing 'inputs' or 'instances'"),
    (f"/v1/models/{MODEL}:predict", {"instances": [1, 2]}, 400, "expected a string"),
    (f"/v1/models/{MODEL}:predict", {"inputs": "a scalar"}, 400, "expects shape [?], got a scalar"),
    (f"/v1/models/{MODEL}:predict", {"instances": [[]]}, 400, "expects shape [?], got [1, 0]"),
    (f"/v1/models/{MODEL}:predict", {"instances": []}, 400, "No values in 'instances'"),
    (f"/v1/models/{MODEL}:predict", {"instances": ["x"] * 65}, 400, "exceeds the limit of 64"),
    (f"/v1/models/{MODEL}:predict", {"instances": [{"b64": "***"}]}, 400, "Unable to base64 decode"),
    (f"/v1/models/{MODEL}:predict", b'{"instances": ["\\ud800"]}', 400, "lone surrogate"),
    (f"/v1/models/{MODEL}:predict", b'{"instances": ["caf\xe9"]}', 400, "not valid UTF-8"),
    (f"/v1/models/{MODEL}:predict", {"signature_name": 7, "instances": ["a"]}, 400, "signature_name"),
    (f"/v1/models/{MODEL}:predict", {"signature_name": "nope", "instances": ["a"]}, 400, "not found"),
    (f"/v1/models/{MODEL}:classify", {"examples": []}, 400, "'examples' array is empty"),
    (f"/v1/models/{MODEL}:classify", {"examples": [{"text": True}]}, 400, "Unexpected element type"),
    (f"/v1/models/{MODEL}:regress", {"examples": [{"text": "a"}]}, 400, "Expected regression signature outputs"),
    ("/v1/models/nope:predict", {"instances": ["a"]}, 404, "nope"),
    (f"/v1/models/{MODEL}/versions/9:predict", {"instances": ["a"]}, 404, "Specific(classifier, 9)"),
    (f"/v1/models/{MODEL}/labels/gold:predict", {"instances": ["a"]}, 400, "Unrecognized servable version label"),
    (f"/v1/models/{MODEL}/versions/99999999999999999999:predict", {"instances": ["a"]}, 400, "Failed to convert"),
])
def test_bad_requests_get_clear_4xx_and_the_server_stays_up(rest, path, body, status, words):
    got_status, got = rest.call("POST", path, body)
    assert got_status == status, got
    assert words in got["error"]
    assert rest.call("POST", f"/v1/models/{MODEL}:predict", {"instances": ["still up"]})[0] == 200


@pytest.mark.parametrize("depth", [33, 10_000, 400_000])
def test_deeply_nested_json_is_refused_before_parsing(rest, depth):
    body = b'{"instances": ' + b"[" * depth + b"]" * depth + b"}"
    status, got = rest.call("POST", f"/v1/models/{MODEL}:predict", body)
    assert status == 400 and "nesting deeper than 32" in got["error"]
    assert rest.call("GET", "/v1/ready")[0] == 200


def test_body_over_the_limit_is_413_without_reading_it(shared_server):
    with socket.create_connection(("localhost", shared_server.rest_port), timeout=10) as sock:
        sock.sendall(f"POST /v1/models/{MODEL}:predict HTTP/1.1\r\nHost: x\r\nContent-Length: {1 << 30}\r\n"
                     "\r\n".encode())
        answer = sock.recv(65536).decode()
    assert answer.startswith("HTTP/1.1 413") and "exceeds the limit" in answer


def test_chunked_body_http10_and_unknown_routes(shared_server, rest):
    body = json.dumps({"instances": TEXTS}).encode()
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:10], body[10:])) + b"0\r\n\r\n"
    with socket.create_connection(("localhost", shared_server.rest_port), timeout=10) as sock:
        sock.sendall(f"POST /v1/models/{MODEL}:predict HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
                     + chunked)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200") and b'"predictions"' in answer
    assert rest.call("GET", "/nowhere")[0] == 404
    assert rest.call("DELETE", f"/v1/models/{MODEL}")[0] == 400
    assert rest.call("GET", f"/v1/models/{MODEL}:predict")[0] == 400


def test_expect_100_continue_as_curl_sends_for_large_bodies(shared_server):
    body = json.dumps({"instances": ["x" * 2000]}).encode()
    with socket.create_connection(("localhost", shared_server.rest_port), timeout=10) as sock:
        sock.sendall(f"POST /v1/models/{MODEL}:predict HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
                     "Expect: 100-continue\r\nConnection: close\r\n\r\n".encode())
        assert sock.recv(1024).startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200") and b'"predictions"' in answer
