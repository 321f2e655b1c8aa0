"""An API-key check for the gRPC server: each call's `authorization` metadata goes to the gateway's key check.

The interface is one HTTP call, the same one Envoy's ext_authz makes in front of tensorflow/serving:
    GET <grpc_auth_url>/<gRPC method path>   header `Authorization: Bearer n2p_...`
    -> 200 allowed | 401 UNAUTHENTICATED | 403 PERMISSION_DENIED | 429 RESOURCE_EXHAUSTED, body {"error": msg}
so `serving` imports nothing of `gateway`, and the gateway alone owns keys, scopes, quotas and metering.
grpc.health.v1 needs no key (load balancers probe it). A key check that cannot be reached fails closed
(UNAVAILABLE). One keep-alive connection per server thread.
"""

from __future__ import annotations

import http.client
import json
import threading
import urllib.parse
from typing import Optional, Tuple

import grpc

__all__ = ["KeyCheckInterceptor"]

_CODES = {401: grpc.StatusCode.UNAUTHENTICATED, 403: grpc.StatusCode.PERMISSION_DENIED,
          429: grpc.StatusCode.RESOURCE_EXHAUSTED}


class KeyCheckInterceptor(grpc.ServerInterceptor):
    """Refuses calls the gateway's key check does not allow."""

    def __init__(self, check_url: str, timeout: float = 5.0):
        parsed = urllib.parse.urlsplit(check_url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"--grpc_auth_url {check_url!r} must be an http(s) URL")
        self._url, self._parsed, self._timeout = check_url.rstrip("/"), parsed, timeout
        self._local = threading.local()

    def intercept_service(self, continuation, handler_call_details):
        method = handler_call_details.method
        if method.startswith("/grpc.health.v1."):
            return continuation(handler_call_details)
        authorization = next((value for key, value in handler_call_details.invocation_metadata or ()
                              if key == "authorization"), None)
        refusal = self._check(method, authorization)
        if refusal is None:
            return continuation(handler_call_details)
        code, message = refusal

        def refuse(_request, context):
            context.abort(code, message)

        return grpc.unary_unary_rpc_method_handler(refuse)

    def _check(self, method: str, authorization: Optional[str]) -> Optional[Tuple[grpc.StatusCode, str]]:
        headers = {"Authorization": authorization} if authorization else {}
        path = (self._parsed.path.rstrip("/") or "") + method
        try:
            status, body, retry_after = self._get(path, headers)
        except (OSError, http.client.HTTPException) as error:
            return grpc.StatusCode.UNAVAILABLE, f"the key check at {self._url} is not reachable ({error})"
        if status == 200:
            return None
        try:
            message = json.loads(body).get("error", "")
        except (ValueError, AttributeError):
            message = body[:200].decode("utf-8", "replace")
        if status == 429 and retry_after:
            message += f" (retry after {retry_after}s)"
        return _CODES.get(status, grpc.StatusCode.UNAVAILABLE), message or f"key check answered {status}"

    def _get(self, path: str, headers: dict) -> Tuple[int, bytes, Optional[str]]:
        for attempt in (0, 1):  # a kept-alive connection the gateway closed is retried once, fresh
            connection = self._connection(fresh=attempt == 1)
            try:
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                return response.status, response.read(), response.getheader("Retry-After")
            except (OSError, http.client.HTTPException):
                connection.close()
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")

    def _connection(self, fresh: bool) -> http.client.HTTPConnection:
        connection = getattr(self._local, "connection", None)
        if connection is None or fresh:
            kind = http.client.HTTPSConnection if self._parsed.scheme == "https" else http.client.HTTPConnection
            connection = kind(self._parsed.hostname, self._parsed.port, timeout=self._timeout)
            self._local.connection = connection
        return connection
