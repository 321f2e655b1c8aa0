"""The OpenAPI 3.0 description of the REST API, served at GET /v1/openapi.json (fuzzers and clients read it)."""

from __future__ import annotations

from typing import Optional

_ERROR = {"description": "TF Serving's error body",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_ERRORS = {str(code): _ERROR for code in (400, 404, 413, 429, 503, 504)}

_SCHEMAS = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
    "B64": {"type": "object", "required": ["b64"], "properties": {"b64": {"type": "string", "format": "byte"}},
            "additionalProperties": False},
    "PredictRequest": {
        "type": "object",
        "description": "Row format ('instances') or columnar format ('inputs'), never both.",
        "properties": {
            "signature_name": {"type": "string"},
            "instances": {"type": "array", "minItems": 1, "items": {}},
            "inputs": {},
        },
    },
    "PredictResponse": {"type": "object", "properties": {"predictions": {}, "outputs": {}}},
    "ExamplesRequest": {
        "type": "object", "required": ["examples"],
        "properties": {
            "signature_name": {"type": "string"},
            "context": {"type": "object"},
            "examples": {"type": "array", "minItems": 1, "items": {"type": "object"}},
        },
    },
    "ClassifyResponse": {"type": "object", "required": ["results"], "properties": {"results": {
        "type": "array", "items": {"type": "array", "items": {"type": "array", "minItems": 2, "maxItems": 2}}}}},
    "RegressResponse": {"type": "object", "required": ["results"],
                        "properties": {"results": {"type": "array", "items": {"type": "number"}}}},
    "ModelStatus": {"type": "object", "required": ["model_version_status"], "properties": {
        "model_version_status": {"type": "array", "items": {
            "type": "object", "required": ["version", "state", "status"],
            "properties": {
                "version": {"type": "string"},
                "state": {"type": "string",
                          "enum": ["UNKNOWN", "START", "LOADING", "AVAILABLE", "UNLOADING", "END"]},
                "status": {"type": "object", "properties": {"error_code": {"type": "string"},
                                                            "error_message": {"type": "string"}}}}}}}},
    "ModelMetadata": {"type": "object", "required": ["model_spec", "metadata"],
                      "properties": {"model_spec": {"type": "object"}, "metadata": {"type": "object"}}},
    "ModelList": {"type": "object", "required": ["models"], "properties": {"models": {"type": "array", "items": {
        "type": "object", "required": ["name", "versions", "labels"],
        "properties": {"name": {"type": "string"}, "labels": {"type": "object"},
                       "versions": {"type": "array", "items": {"type": "object"}}}}}}},
    "Readiness": {"type": "object", "required": ["ready", "models"],
                  "properties": {"ready": {"type": "boolean"}, "models": {"type": "object"}}},
}

_NAME = {"name": "model_name", "in": "path", "required": True, "schema": {"type": "string"}}
_VERSION = {"name": "version", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}}
_LABEL = {"name": "label", "in": "path", "required": True, "schema": {"type": "string"}}
_ADDRESSES = (("", [_NAME]), ("/versions/{version}", [_NAME, _VERSION]), ("/labels/{label}", [_NAME, _LABEL]))


def _json_response(schema: str, description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


def _get(summary: str, schema: str, parameters=None, extra=None) -> dict:
    responses = {"200": _json_response(schema, summary), **_ERRORS, **(extra or {})}
    return {"get": {"summary": summary, "parameters": parameters or [], "responses": responses}}


def _post(summary: str, request: str, response: str, parameters) -> dict:
    return {"post": {
        "summary": summary, "parameters": parameters,
        "requestBody": {"required": True,
                        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{request}"}}}},
        "responses": {"200": _json_response(response, summary), **_ERRORS}}}


def document(prometheus_path: Optional[str] = None) -> dict:
    """The OpenAPI document; the metrics path appears only when metrics are enabled."""
    paths = {
        "/v1/models": _get("List every configured model with its versions, states and labels", "ModelList"),
        "/v1/ready": _get("Readiness: 200 once every configured model has an AVAILABLE version", "Readiness",
                          extra={"503": _json_response("Readiness", "Not every model is AVAILABLE yet")}),
    }
    for suffix, parameters in _ADDRESSES:
        base = "/v1/models/{model_name}" + suffix
        paths[base] = _get("Model version status (TF Serving)", "ModelStatus", parameters)
        paths[base + "/metadata"] = _get("Signature defs (TF Serving)", "ModelMetadata", parameters)
        paths[base + ":predict"] = _post("Predict (TF Serving)", "PredictRequest", "PredictResponse", parameters)
        paths[base + ":classify"] = _post("Classify (TF Serving)", "ExamplesRequest", "ClassifyResponse",
                                          parameters)
        paths[base + ":regress"] = _post("Regress (TF Serving)", "ExamplesRequest", "RegressResponse", parameters)
    if prometheus_path:
        paths[prometheus_path] = {"get": {"summary": "Prometheus metrics (TF Serving names)", "responses": {
            "200": {"description": "Prometheus text format", "content": {"text/plain": {"schema": {
                "type": "string"}}}}}}}
    return {"openapi": "3.0.3",
            "info": {"title": "nlp2prod model server REST API", "version": "1",
                     "description": "TensorFlow Serving's REST API plus /v1/models and /v1/ready."},
            "paths": paths, "components": {"schemas": _SCHEMAS}}
