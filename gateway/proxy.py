"""TF Serving's REST paths, unchanged behind the gateway: existing clients only add the Authorization header.

    GET  /v1/models/M[/versions/V | /labels/L]            status      (read)
    GET  /v1/models/M[/versions/V | /labels/L]/metadata   metadata    (read)
    POST /v1/models/M[/versions/V | /labels/L]:predict | :classify | :regress    (predict)

The body is checked to be JSON (a malformed one is refused here, with the parser's message) and forwarded as it
came; the backend's status and body come back as they are. With request logging on, a sampled `:predict` that
answered 200 is logged (`gateway.request_logging`) and its answer carries the `X-Request-Id` feedback refers to.

The inference POSTs usually reach `relay` through `gateway.fast_path` (the same steps without FastAPI's routing);
the routes here document every path in the OpenAPI description and answer what the fast path passes on.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import logging
import time
from typing import Dict, Optional, Tuple

from fastapi import APIRouter, Request, Response

from gateway import openapi_examples
from gateway.backend import model_path
from gateway.errors import BadRequest, GatewayError
from gateway.names import checked_name

__all__ = ["router", "relay", "ProxiedAnswer", "backend_path"]

log = logging.getLogger(__name__)
router = APIRouter(tags=["TF Serving REST (proxied)"])
_ADDRESSES = {"": "", "/versions/{version}": "a version number", "/labels/{label}": "a version label"}


def backend_path(model: str, version: Optional[int], label: Optional[str]) -> str:
    return model_path(checked_name("model name", model), version,
                      checked_name("label", label) if label is not None else None)


def _parsed(body: bytes) -> dict:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise BadRequest(f"the request body is not valid JSON: {error}") from None
    if not isinstance(payload, dict):
        raise BadRequest("the request body must be a JSON object")
    return payload


def _texts_in(payload: dict) -> int:
    rows = payload.get("instances", payload.get("examples", payload.get("inputs")))
    return len(rows) if isinstance(rows, list) else 1


@dataclasses.dataclass(frozen=True)
class ProxiedAnswer:
    """What the backend answered a proxied call, plus the gateway's own headers (`X-Request-Id`)."""

    status_code: int
    content: bytes
    content_type: str
    headers: Dict[str, str]


async def relay(gateway, versions, authorization: Optional[str], scope: str, method: str, path: str,
                body: Optional[bytes] = None,
                logged_as: Optional[Tuple[str, Optional[int], Optional[str]]] = None) -> ProxiedAnswer:
    """Admits the key, checks the body is a JSON object, forwards it as it came and meters the call.

    Shared by the FastAPI routes below and `gateway.fast_path` (the same steps, without the framework's
    routing), so both answer alike. Raises GatewayError for every refusal.
    """
    record = await gateway.admit(authorization, scope)
    texts, payload = 0, None
    try:
        payload = _parsed(body) if body is not None else None
        texts = _texts_in(payload) if payload is not None else 0
        started = time.perf_counter()
        answer = await gateway.backend.send(method, path, body)
    except Exception:
        gateway.meter.record(record.key_id, texts, error=True)
        raise
    gateway.meter.record(record.key_id, texts, error=answer.status_code >= 400)
    headers = {}
    if logged_as is not None and answer.status_code == 200 and gateway.request_log is not None \
            and gateway.request_log.active:
        request_id = await _log_predict(gateway, versions, logged_as, payload, answer,
                                        (time.perf_counter() - started) * 1e3)
        headers = {"X-Request-Id": request_id} if request_id else {}
    return ProxiedAnswer(answer.status_code, answer.content, answer.content_type, headers)


async def _log_predict(gateway, versions, logged_as: Tuple[str, Optional[int], Optional[str]], payload: dict,
                       answer, latency_ms: float) -> Optional[str]:
    """Logs an answered `:predict` with the version that answered (the path's, else the one the model or label
    serves now); a call whose version or answer cannot be read is not logged, and still answered."""
    model, version, label = logged_as
    try:
        version = version or await versions.resolve(model, label)
        result = answer.json()
    except (GatewayError, ValueError) as error:
        log.warning("request log: a %s:predict call was not logged: %s", model, getattr(error, "message", error))
        return None
    if not isinstance(result, dict):
        return None
    return gateway.request_log.log_rest_predict(model, version, payload, result, latency_ms)


def _path_signature(suffix: str) -> inspect.Signature:
    keyword = inspect.Parameter.KEYWORD_ONLY
    parameters = [inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request),
                  inspect.Parameter("model", keyword, annotation=str)]
    if "{version}" in suffix:
        parameters.append(inspect.Parameter("version", keyword, annotation=int))
    if "{label}" in suffix:
        parameters.append(inspect.Parameter("label", keyword, annotation=str))
    return inspect.Signature(parameters)


def _handler(name: str, suffix: str, scope: str, tail: str, with_body: bool):
    async def handler(request: Request, model: str, version: Optional[int] = None, label: Optional[str] = None):
        path = backend_path(model, version, label) + tail
        logged_as = (model, version, label) if tail == ":predict" else None
        answer = await relay(request.app.state.gateway, request.app.state.versions,
                             request.headers.get("authorization"), scope, request.method, path,
                             await request.body() if with_body else None, logged_as)
        return Response(answer.content, answer.status_code, headers=answer.headers, media_type=answer.content_type)

    handler.__name__ = name
    handler.__signature__ = _path_signature(suffix)  # only this address's path parameters, no query ones
    return handler


def _add_routes(suffix: str, what: str) -> None:
    where = f" of {what}" if what else ""
    router.add_api_route(f"/v1/models/{{model}}{suffix}", _handler("status", suffix, "read", "", False),
                         methods=["GET"], summary=f"Model status{where}", responses=openapi_examples.STATUS_RESPONSES)
    router.add_api_route(f"/v1/models/{{model}}{suffix}/metadata", _handler("metadata", suffix, "read", "/metadata",
                                                                            False),
                         methods=["GET"], summary=f"Signature metadata{where}")
    for verb in ("predict", "classify", "regress"):
        router.add_api_route(f"/v1/models/{{model}}{suffix}:{verb}",
                             _handler(f"{verb}_proxy", suffix, "predict", f":{verb}", True), methods=["POST"],
                             summary=f"{verb.capitalize()}{where}", description=openapi_examples.describe(verb),
                             openapi_extra=openapi_examples.inference_body(verb))


for _suffix, _what in _ADDRESSES.items():
    _add_routes(_suffix, _what)
