"""TF Serving's REST paths, unchanged behind the gateway: existing clients only add the Authorization header.

    GET  /v1/models/M[/versions/V | /labels/L]            status      (read)
    GET  /v1/models/M[/versions/V | /labels/L]/metadata   metadata    (read)
    POST /v1/models/M[/versions/V | /labels/L]:predict | :classify | :regress    (predict)

The body is checked to be JSON (a malformed one is refused here, with the parser's message) and forwarded as it
came; the backend's status and body come back as they are.
"""

from __future__ import annotations

import inspect
import json
from typing import Optional

from fastapi import APIRouter, Request, Response

from gateway import openapi_examples
from gateway.backend import model_path
from gateway.errors import BadRequest
from gateway.names import checked_name

__all__ = ["router"]

router = APIRouter(tags=["TF Serving REST (proxied)"])
_ADDRESSES = {"": "", "/versions/{version}": "a version number", "/labels/{label}": "a version label"}


def _backend_path(model: str, version: Optional[int], label: Optional[str]) -> str:
    return model_path(checked_name("model name", model), version,
                      checked_name("label", label) if label is not None else None)


def _texts_in(body: bytes) -> int:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise BadRequest(f"the request body is not valid JSON: {error}") from None
    if not isinstance(payload, dict):
        raise BadRequest("the request body must be a JSON object")
    rows = payload.get("instances", payload.get("examples", payload.get("inputs")))
    return len(rows) if isinstance(rows, list) else 1


async def _relay(request: Request, scope: str, path: str, body: Optional[bytes] = None) -> Response:
    gateway = request.app.state.gateway
    record = await gateway.admit(request.headers.get("authorization"), scope)
    texts = 0
    try:
        texts = _texts_in(body) if body is not None else 0
        answer = await gateway.backend.send(request.method, path, body)
    except Exception:
        gateway.meter.record(record.key_id, texts, error=True)
        raise
    gateway.meter.record(record.key_id, texts, error=answer.status_code >= 400)
    return Response(answer.content, answer.status_code, media_type=answer.headers.get("content-type",
                                                                                        "application/json"))


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
        path = _backend_path(model, version, label) + tail
        return await _relay(request, scope, path, await request.body() if with_body else None)

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
