"""Two plain ASGI middlewares (no per-request task overhead): a body-size limit and security headers."""

from __future__ import annotations

import json

from gateway.errors import PayloadTooLarge

__all__ = ["BodyLimit", "SecurityHeaders", "CONTENT_SECURITY_POLICY"]

# Only this origin, for everything; inline styles are allowed because Swagger UI sets style attributes.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                           "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
                           "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
_SECURITY_HEADERS = [(b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
                     (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
                     (b"x-frame-options", b"DENY")]


async def _refuse(send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")] + _SECURITY_HEADERS})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """413 for a body over `max_bytes`: at once from Content-Length, else as soon as the stream passes it."""

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        message = f"the request body is over the gateway's limit of {self.max_bytes} bytes"
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit():
                    return await _refuse(send, 400, "Content-Length is not a number")
                if int(value) > self.max_bytes:
                    return await _refuse(send, 413, message)
        received = 0

        async def limited_receive():
            nonlocal received
            event = await receive()
            if event["type"] == "http.request":
                received += len(event.get("body", b""))
                if received > self.max_bytes:
                    raise PayloadTooLarge(message)  # answered 413 by the app's GatewayError handler
            return event

        await self.app(scope, limited_receive, send)


class SecurityHeaders:
    """Adds the CSP and friends to every response that does not set its own."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(event):
            if event["type"] == "http.response.start":
                present = {name.lower() for name, _ in event.get("headers", [])}
                extra = [(n, v) for n, v in _SECURITY_HEADERS if n not in present]
                event = {**event, "headers": list(event.get("headers", [])) + extra}
            await send(event)

        await self.app(scope, receive, send_with_headers)
