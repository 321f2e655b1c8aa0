"""The REST adapter: TF Serving's /v1 API over the data plane, plus what TF Serving lacks.

TF Serving's routes (same regular expressions, case-insensitive, percent-decoded names):
    GET  /v1/models/M[/versions/V | /labels/L]            model status
    GET  /v1/models/M[/versions/V | /labels/L]/metadata   signature defs
    POST /v1/models/M[/versions/V | /labels/L]:predict | :classify | :regress
    GET  <prometheus path>                                 metrics (when the monitoring config enables them)
Additions: GET /v1/models (every model, its versions, states and labels), GET /v1/ready (200 once every
configured model is AVAILABLE, else 503) and GET /v1/openapi.json (this API's OpenAPI description).
Errors are `{"error": message}` with the HTTP status of the error's code, as upstream.
"""

from __future__ import annotations

import json
import logging
import re
import time
import urllib.parse
from typing import Optional, Tuple

from tensorflow_serving.apis import get_model_metadata_pb2

from serving import openapi, rest_codec
from serving.dataplane import DataPlane, ModelRef
from serving.errors import InvalidArgument, NotFound, ServingError
from serving.http_server import HttpRequest, Response, error_body

log = logging.getLogger(__name__)

JSON = "application/json"
PROMETHEUS_TEXT = "text/plain; version=0.0.4"
_INFERENCE = re.compile(r"/v1/models/([^/:]+)(?:/versions/(\d+)|/labels/([^/:]+))?:(classify|regress|predict)",
                        re.IGNORECASE)
_MODEL = re.compile(r"/v1/models/([^/:]+)(?:/versions/(\d+)|/labels/([^/:]+))?(/metadata)?", re.IGNORECASE)


class RestApi:
    """The REST request handler (a callable for `HttpServer`)."""

    def __init__(self, plane: DataPlane, timeout_ms: int, max_json_depth: int,
                 prometheus_path: Optional[str] = None):
        self._plane, self._timeout_s, self._max_depth = plane, timeout_ms / 1000.0, max_json_depth
        self._prometheus_path = prometheus_path
        self._openapi = json.dumps(openapi.document(prometheus_path)).encode("utf-8")

    def __call__(self, request: HttpRequest) -> Response:
        try:
            return self._dispatch(request)
        except ServingError as error:
            return error.http_status, error_body(error.message), JSON
        except Exception as error:  # a bug must answer 500 and leave the server up
            log.exception("REST %s %s failed", request.method, request.path)
            return 500, error_body(f"internal error: {error}"), JSON

    def _dispatch(self, request: HttpRequest) -> Response:
        path, method = request.path, request.method
        if method == "POST":
            match = _INFERENCE.fullmatch(path)
            if match:
                return 200, _json(self._infer(match, request.body)), JSON
        elif method in ("GET", "HEAD"):
            if path == "/v1/models":
                return 200, _json(self._list_models()), JSON
            if path == "/v1/ready":
                return self._ready()
            if path == "/v1/openapi.json":
                return 200, self._openapi, JSON
            if self._prometheus_path and path == self._prometheus_path:
                return 200, self._plane.metrics.exposition(), PROMETHEUS_TEXT
            match = _MODEL.fullmatch(path)
            if match:
                return 200, _json(self._model_info(match)), JSON
        if path.lower().startswith("/v1/models"):
            raise InvalidArgument(f"Malformed request: {method} {path}")
        raise NotFound(f"Not found: {method} {path}; the API is described at /v1/openapi.json")

    def _infer(self, match: re.Match, body: bytes) -> dict:
        name, version, label = _address(match)
        method = match.group(4).lower()
        document = rest_codec.parse_body(body, self._max_depth)
        ref = ModelRef(name, version, label, rest_codec.signature_name(document))
        deadline = time.monotonic() + self._timeout_s if self._timeout_s > 0 else None
        if method == "predict":
            formats = []

            def decode(signature):
                inputs, row_format = rest_codec.predict_inputs(document, signature)
                formats.append(row_format)
                return inputs

            result = self._plane.predict(ref, decode, deadline=deadline, entrypoint="REST")
            return rest_codec.predict_response(result.value, formats[0])
        examples = rest_codec.examples(document)
        if method == "classify":
            return rest_codec.classify_response(self._plane.classify(ref, examples, deadline, "REST").value)
        return rest_codec.regress_response(self._plane.regress(ref, examples, deadline, "REST").value)

    def _model_info(self, match: re.Match) -> dict:
        name, version, label = _address(match)
        ref = ModelRef(name, version, label)
        if match.group(4):
            result = self._plane.metadata(ref)
            signature_map = get_model_metadata_pb2.SignatureDefMap()
            for key, signature_def in result.value.items():
                signature_map.signature_def[key].CopyFrom(signature_def)
            return {"model_spec": {"name": result.model, "signature_name": "", "version": str(result.version)},
                    "metadata": {"signature_def": rest_codec.proto_json(signature_map)}}
        return {"model_version_status": [
            {"version": str(status.version), "state": status.state.name,
             "status": {"error_code": status.error.code_name if status.error else "OK",
                        "error_message": status.error.message if status.error else ""}}
            for status in self._plane.status(ref)]}

    def _list_models(self) -> dict:
        return {"models": [{"name": model.name, "labels": model.labels,
                            "versions": [{"version": str(v.version), "state": v.state.name} for v in model.versions]}
                           for model in self._plane.models()]}

    def _ready(self) -> Response:
        ready, models = self._plane.readiness()
        return (200 if ready else 503), _json({"ready": ready, "models": models}), JSON


def _address(match: re.Match) -> Tuple[str, Optional[int], Optional[str]]:
    try:
        name = urllib.parse.unquote(match.group(1), errors="strict")
        label = urllib.parse.unquote(match.group(3), errors="strict") if match.group(3) else None
    except UnicodeDecodeError:
        raise InvalidArgument("Failed to decode model name or label: not UTF-8 after percent-decoding") from None
    version = match.group(2)
    if version is not None and int(version) >= 2 ** 63:
        raise InvalidArgument(f"Failed to convert version: {version} to numeric.")
    return name, (int(version) if version is not None else None), label


def _json(value) -> bytes:
    return json.dumps(value).encode("utf-8")
