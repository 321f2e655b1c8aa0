"""The hot path: TF Serving's inference POSTs relayed without FastAPI's routing and dependency solving.

    POST /v1/models/M[/versions/V | /labels/L]:predict | :classify | :regress

These calls are most of a gateway's traffic, and the framework's route matching, parameter solving and
exception layers cost about as much CPU per call as the key check, quota, metering and backend call together.
This ASGI middleware matches the inference paths with one regular expression and calls `proxy.relay`, the
function the documented FastAPI routes call, so both answer the same statuses, bodies and headers. Every other
request (and an inference path it does not recognise, such as a non-numeric version) goes on to FastAPI.
It sits inside the body-limit and security-header middlewares, so both still apply.
"""

from __future__ import annotations

import re
from typing import Optional

from starlette.responses import JSONResponse, Response

from gateway.errors import GatewayError
from gateway.proxy import backend_path, relay

__all__ = ["InferenceFastPath"]

_INFERENCE = re.compile(r"/v1/models/([^/:]+)(?:/versions/([0-9]{1,18})|/labels/([^/:]+))?:(predict|classify|regress)")


def _authorization(scope) -> Optional[str]:
    for name, value in scope["headers"]:
        if name == b"authorization":
            return value.decode("latin-1")
    return None


async def _body(receive) -> bytes:
    chunks = []
    while True:
        event = await receive()
        if event["type"] == "http.disconnect":
            return b"".join(chunks)
        chunks.append(event.get("body", b""))
        if not event.get("more_body", False):
            return b"".join(chunks)


class InferenceFastPath:
    """Answers the inference POSTs with `proxy.relay`; passes everything else to `app`.

    Args:
      app: the next ASGI application (FastAPI's).
      gateway: the process's `gateway.service.Gateway`.
      versions: the `classify.VersionResolver` the request log uses to name the answering version.
    """

    def __init__(self, app, gateway, versions):
        self.app, self._gateway, self._versions = app, gateway, versions

    async def __call__(self, scope, receive, send):
        match = _INFERENCE.fullmatch(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" \
            else None
        if match is None:
            return await self.app(scope, receive, send)
        model, version, label, verb = match.groups()
        number = int(version) if version is not None else None
        try:
            path = backend_path(model, number, label) + ":" + verb
            answer = await relay(self._gateway, self._versions, _authorization(scope), "predict", "POST", path,
                                 await _body(receive), (model, number, label) if verb == "predict" else None)
        except GatewayError as error:
            response = JSONResponse({"error": error.message}, status_code=error.http_status,
                                    headers=error.headers())
        else:
            response = Response(answer.content, answer.status_code, headers=answer.headers,
                                media_type=answer.content_type)
        await response(scope, receive, send)
