"""The model server behind the gateway: TF Serving's REST API over one pooled httpx.AsyncClient.

Only the body and its content type go to the backend: the caller's Authorization, cookies, Host and any other
header stay at the gateway. A backend that refuses connections answers 503 at once; one that does not answer
within the timeout, 504.
"""

from __future__ import annotations

import json
from typing import Any, Optional, Tuple

import httpx

from gateway.errors import BackendTimeout, BackendUnavailable, BadRequest

__all__ = ["Backend"]


class Backend:
    """A TF Serving REST endpoint (the embedded server or tensorflow/serving)."""

    def __init__(self, base_url: str, timeout: float, connect_timeout: float, max_connections: int):
        self.base_url = base_url.rstrip("/")
        self._client = httpx.AsyncClient(
            base_url=self.base_url, timeout=httpx.Timeout(timeout, connect=connect_timeout),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            transport=httpx.AsyncHTTPTransport(retries=0), trust_env=False, follow_redirects=False)

    async def send(self, method: str, path: str, body: Optional[bytes] = None,
                   content_type: Optional[str] = None) -> httpx.Response:
        """One call; the response is read whole."""
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type or "application/json"
        try:
            return await self._client.request(method, path, content=body, headers=headers)
        except httpx.TimeoutException as error:
            kind = "connect to" if isinstance(error, httpx.ConnectTimeout) else "get an answer from"
            failure = BackendUnavailable if isinstance(error, httpx.ConnectTimeout) else BackendTimeout
            raise failure(f"could not {kind} the model server at {self.base_url} in time") from None
        except httpx.TransportError as error:
            raise BackendUnavailable(f"the model server at {self.base_url} is not reachable "
                                     f"({type(error).__name__})") from None

    async def json(self, method: str, path: str, payload: Any = None) -> Tuple[int, Any]:
        """A JSON call: (status, parsed body); a body that is not JSON is a backend failure."""
        body = json.dumps(payload).encode("utf-8") if payload is not None else None
        response = await self.send(method, path, body)
        try:
            return response.status_code, response.json()
        except ValueError:
            raise BackendUnavailable(f"the model server at {self.base_url} answered {response.status_code} "
                                     "with a body that is not JSON") from None

    async def close(self) -> None:
        await self._client.aclose()


def model_path(model: str, version: Optional[int] = None, label: Optional[str] = None) -> str:
    """`/v1/models/M[/versions/V|/labels/L]` for validated names."""
    path = f"/v1/models/{model}"
    if version is not None and label:
        raise BadRequest("give a version or a label, not both")
    if version is not None:
        return f"{path}/versions/{int(version)}"
    return f"{path}/labels/{label}" if label else path
