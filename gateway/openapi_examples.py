"""Examples for the OpenAPI description: texts in several languages and scripts, and copy-paste client code."""

from __future__ import annotations

from typing import Dict

TEXTS = ["I would love a big bowl of ramen tonight", "Bonjour, comment allez-vous ?",
         "Wie war das Spiel gestern Abend?", "今日はいい天気ですね", "Привіт, як справи?", "مرحبا كيف حالك",
         "नमस्ते, आप कैसे हैं?"]

CURL = """curl -s http://localhost:8080/v1/classify \\
  -H "Authorization: Bearer $N2P_KEY" -H "Content-Type: application/json" \\
  -d '{"texts": ["Bonjour, comment allez-vous ?", "今日はいい天気ですね"]}'"""
PYTHON_REQUESTS = """import os, requests

answer = requests.post("http://localhost:8080/v1/classify",
                       headers={"Authorization": f"Bearer {os.environ['N2P_KEY']}"},
                       json={"texts": ["Wie war das Spiel gestern Abend?", "Привіт, як справи?"]}, timeout=10)
answer.raise_for_status()
for prediction in answer.json()["predictions"]:
    print(prediction["label"], max(prediction["probabilities"].values()))"""
PYTHON_GRPC = """import os, grpc, tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

# gRPC goes to TF Serving's port 8500 through Envoy (ext_authz asks this gateway) or to `nlp2prod serve
# --grpc_auth_url=http://gateway:8080/v1/authz`; the same key, as call metadata.
stub = prediction_service_pb2_grpc.PredictionServiceStub(grpc.insecure_channel("localhost:8500"))
request = predict_pb2.PredictRequest()
request.model_spec.name = "nlp2prod"
request.inputs["text"].CopyFrom(tf.make_tensor_proto(["مرحبا كيف حالك"]))
response = stub.Predict(request, timeout=10, metadata=[("authorization", f"Bearer {os.environ['N2P_KEY']}")])
print(tf.make_ndarray(response.outputs["label"]))"""
JAVASCRIPT = """const answer = await fetch("http://localhost:8080/v1/classify", {
  method: "POST",
  headers: {"Authorization": `Bearer ${key}`, "Content-Type": "application/json"},
  body: JSON.stringify({texts: ["नमस्ते, आप कैसे हैं?", "I would love a big bowl of ramen tonight"]}),
});
if (!answer.ok) throw new Error((await answer.json()).error);
console.log((await answer.json()).predictions);"""
REST_PREDICT = """curl -s http://localhost:8080/v1/models/nlp2prod/labels/stable:predict \\
  -H "Authorization: Bearer $N2P_KEY" \\
  -d '{"instances": ["Bonjour, comment allez-vous ?"]}'"""


def _code(title: str, language: str, text: str) -> str:
    return f"**{title}**\n\n```{language}\n{text}\n```\n"


API_DESCRIPTION = "\n".join([
    "The token-managed API in front of TensorFlow Serving. Every call but `/v1/health` needs "
    "`Authorization: Bearer n2p_...` (create keys with `nlp2prod keys create`). Scopes: `predict` "
    "(inference), `read` (status, metadata, versions), `admin` (keys, labels, audit; implies the others). "
    "Errors are `{\"error\": \"...\"}`: 401 no or bad key, 403 missing scope, 413 body too large, "
    "429 over the key's rate (see `Retry-After`), 503 model server down, 504 model server too slow.",
    "", _code("curl", "bash", CURL), _code("Python (requests)", "python", PYTHON_REQUESTS),
    _code("Python (official TF Serving gRPC stubs)", "python", PYTHON_GRPC),
    _code("JavaScript (fetch)", "javascript", JAVASCRIPT),
    _code("TF Serving REST, unchanged (add the header)", "bash", REST_PREDICT)])

CLASSIFY_EXAMPLES: Dict[str, dict] = {
    "several_languages": {"summary": "Texts in several languages and scripts", "value": {"texts": TEXTS}},
    "pinned_version": {"summary": "A pinned version", "value": {"texts": ["Bonjour !"], "version": 3}},
    "labelled_version": {"summary": "The canary", "value": {"texts": ["Hallo zusammen"], "label": "canary"}},
}

_INFERENCE_BODIES = {
    "predict": {"row": {"summary": "Row format (instances)", "value": {"instances": TEXTS[:4]}},
                "columnar": {"summary": "Columnar format (inputs)", "value": {"inputs": {"text": TEXTS[4:]}}}},
    "classify": {"examples": {"summary": "tf.Example features", "value": {
        "signature_name": "classify", "examples": [{"text": t} for t in TEXTS[:3]]}}},
    "regress": {"examples": {"summary": "tf.Example features", "value": {
        "signature_name": "regress", "examples": [{"text": TEXTS[0]}]}}},
}
STATUS_RESPONSES = {200: {"content": {"application/json": {"example": {"model_version_status": [
    {"version": "3", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]}}}}}


def inference_body(verb: str) -> dict:
    """The OpenAPI requestBody of a proxied `:predict`, `:classify` or `:regress`."""
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"type": "object"}, "examples": _INFERENCE_BODIES[verb]}}}}


def describe(verb: str) -> str:
    return (f"TF Serving's `:{verb}`, forwarded unchanged (needs the `predict` scope).\n\n"
            + _code("curl", "bash", REST_PREDICT.replace(":predict", f":{verb}")))

FEEDBACK_DESCRIPTION = (
    "Records the true label of a call the gateway logged (started with `--request_logging_config_file`), for "
    "the live accuracy `nlp2prod monitor` reports. The id is the answer's `X-Request-Id` header, or for "
    "`/v1/classify` the `request_id` of each text. An unknown id or a label the model does not have is a 400.\n\n"
    + _code("curl", "bash", """curl -s http://localhost:8080/v1/feedback \\
  -H "Authorization: Bearer $N2P_KEY" -H "Content-Type: application/json" \\
  -d '{"request_id": "5f0c2a9e4b1d4c7e9a3b6d8f1e2c4a6b:1", "label": "sports"}'"""))
FEEDBACK_EXAMPLES: Dict[str, dict] = {
    "first_text": {"summary": "The true label of a call's first text",
                   "value": {"request_id": "5f0c2a9e4b1d4c7e9a3b6d8f1e2c4a6b", "label": "food"}},
    "second_text": {"summary": "Of its second text",
                    "value": {"request_id": "5f0c2a9e4b1d4c7e9a3b6d8f1e2c4a6b:1", "label": "sports"}},
}
FEEDBACK_RESPONSES = {400: {"description": "An unknown request id or label", "content": {"application/json": {
    "example": {"error": "label 'weather' is not one of the model's labels (food, sports, greetings)"}}}}}
