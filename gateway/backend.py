"""The model server behind the gateway: TF Serving's REST API over one pooled aiohttp.ClientSession.

Only the body and its content type go to the backend: the caller's Authorization, cookies, Host and any other
header stay at the gateway. A backend that refuses connections answers 503 at once; one that does not answer
within the timeout, 504.

aiohttp rather than httpx: against the embedded server at 16 concurrent calls, one gateway process spent about
2 ms of CPU per call in httpx/httpcore's pool (a readability probe of every pooled connection per request) and
managed a few hundred calls/s; aiohttp's C-accelerated client does the same calls at several times the rate
(benchmarks/results/gateway.md).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any, Optional, Tuple

import aiohttp

from gateway.errors import BackendTimeout, BackendUnavailable, BadRequest

__all__ = ["Backend", "BackendAnswer"]


@dataclasses.dataclass(frozen=True)
class BackendAnswer:
    """A backend response, read whole: status, body bytes and content type."""

    status_code: int
    content: bytes
    content_type: str

    def json(self) -> Any:
        """The parsed body; raises ValueError when it is not JSON."""
        return json.loads(self.content)


class Backend:
    """A TF Serving REST endpoint (the embedded server or tensorflow/serving).

    The session and its connection pool are made on the first call, inside the event loop that serves the
    gateway (aiohttp binds a session to its loop).
    """

    def __init__(self, base_url: str, timeout: float, connect_timeout: float, max_connections: int):
        self.base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=connect_timeout)
        self._max_connections = max_connections
        self._session: Optional[aiohttp.ClientSession] = None

    def _opened(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._max_connections, limit_per_host=self._max_connections,
                                             use_dns_cache=True, keepalive_timeout=30)
            self._session = aiohttp.ClientSession(
                self.base_url, connector=connector, timeout=self._timeout, trust_env=False, auto_decompress=False,
                skip_auto_headers=("User-Agent",), headers={"Accept": "application/json",
                                                            "Accept-Encoding": "identity"})
        return self._session

    async def send(self, method: str, path: str, body: Optional[bytes] = None,
                   content_type: Optional[str] = None) -> BackendAnswer:
        """One call; the response is read whole."""
        headers = {"Content-Type": content_type or "application/json"} if body is not None else None
        try:
            async with self._opened().request(method, path, data=body, headers=headers,
                                              allow_redirects=False) as response:
                content = await response.read()
                return BackendAnswer(response.status, content,
                                     response.headers.get("Content-Type", "application/json"))
        except aiohttp.ConnectionTimeoutError:
            raise BackendUnavailable(f"could not connect to the model server at {self.base_url} in time") from None
        except asyncio.TimeoutError:
            raise BackendTimeout(f"could not get an answer from the model server at {self.base_url} in "
                                 "time") from None
        except aiohttp.ClientError as error:
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
        if self._session is not None:
            await self._session.close()
            self._session = None


def model_path(model: str, version: Optional[int] = None, label: Optional[str] = None) -> str:
    """`/v1/models/M[/versions/V|/labels/L]` for validated names."""
    path = f"/v1/models/{model}"
    if version is not None and label:
        raise BadRequest("give a version or a label, not both")
    if version is not None:
        return f"{path}/versions/{int(version)}"
    return f"{path}/labels/{label}" if label else path
