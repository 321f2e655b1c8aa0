"""A small HTTP/1.1 server for the REST API: keep-alive, Content-Length or chunked bodies, hard size limits.

Why not `http.server`: its header parsing goes through the email package and costs a sizeable share of a
sub-millisecond request; this reader takes what the REST API needs (request line, a few headers, the body)
with bounded reads, answers `Expect: 100-continue`, sets TCP_NODELAY and writes each response in one send.
One thread per connection, a bounded number of them in the handler at once; `stop()` closes idle keep-alive
connections too.
"""

from __future__ import annotations

import http
import json
import socket
import socketserver
import threading
from typing import Callable, Dict, NamedTuple, Optional, Set, Tuple

MAX_LINE = 16 * 1024
MAX_HEADERS = 100
_REASONS = {status.value: status.phrase for status in http.HTTPStatus}


class HttpRequest(NamedTuple):
    method: str
    path: str
    query: str
    headers: Dict[str, str]
    body: bytes


Response = Tuple[int, bytes, str]
Handler = Callable[[HttpRequest], Response]


class _HttpError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def error_body(message: str) -> bytes:
    """TF Serving's error shape: `{"error": message}`."""
    return json.dumps({"error": message}).encode("utf-8")


class _Connection(socketserver.StreamRequestHandler):
    wbufsize = 0  # each response is one write of head + body

    def setup(self) -> None:
        self.timeout = self.server.idle_timeout
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, True)

    def finish(self) -> None:
        self.server.track(self.connection, False)
        super().finish()

    def handle(self) -> None:
        while True:
            try:
                request = self._read_request()
            except _HttpError as error:
                self._send(error.status, error_body(error.message), "application/json", close=True)
                return
            except (OSError, ValueError):
                return
            if request is None:
                return
            keep_alive = _keep_alive(request)
            with self.server.handlers:  # --rest_api_num_threads: requests answered at once; others wait here
                status, body, content_type = self.server.handler(request)
            self._send(status, b"" if request.method == "HEAD" else body, content_type, close=not keep_alive,
                       length=len(body))
            if not keep_alive:
                return

    def _read_request(self) -> Optional[HttpRequest]:
        line = self.rfile.readline(MAX_LINE + 1)
        while line in (b"\r\n", b"\n"):
            line = self.rfile.readline(MAX_LINE + 1)
        if not line:
            return None
        if len(line) > MAX_LINE:
            raise _HttpError(414, f"request line longer than {MAX_LINE} bytes")
        parts = line.split()
        if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
            raise _HttpError(400, "malformed HTTP request line")
        headers = self._read_headers()
        headers[":version"] = parts[2].decode("latin-1")
        target = parts[1].decode("latin-1")
        path, _, query = target.partition("?")
        return HttpRequest(parts[0].decode("latin-1").upper(), path, query, headers, self._read_body(headers))

    def _read_headers(self) -> Dict[str, str]:
        headers: Dict[str, str] = {}
        for _ in range(MAX_HEADERS):
            line = self.rfile.readline(MAX_LINE + 1)
            if len(line) > MAX_LINE:
                raise _HttpError(431, f"a header line is longer than {MAX_LINE} bytes")
            if line in (b"\r\n", b"\n", b""):
                return headers
            name, separator, value = line.partition(b":")
            if not separator:
                raise _HttpError(400, "malformed HTTP header line")
            headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
        raise _HttpError(431, f"more than {MAX_HEADERS} headers")

    def _read_body(self, headers: Dict[str, str]) -> bytes:
        limit = self.server.max_body_bytes
        encoding = headers.get("transfer-encoding", "").lower()
        if encoding and encoding != "chunked":
            raise _HttpError(501, f"transfer-encoding {encoding!r} is not supported")
        length = headers.get("content-length")
        if not encoding and length is None:
            return b""
        if length is not None and not length.isdigit():
            raise _HttpError(400, f"invalid Content-Length {length!r}")
        if length is not None and int(length) > limit:
            raise _HttpError(413, f"request body of {length} bytes exceeds the limit of {limit} bytes")
        if headers.get("expect", "").lower() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        if encoding:
            return self._read_chunked(limit)
        body = self.rfile.read(int(length))
        if len(body) < int(length):
            raise ValueError("connection closed inside the body")
        return body

    def _read_chunked(self, limit: int) -> bytes:
        parts, total = [], 0
        while True:
            size_line = self.rfile.readline(MAX_LINE + 1).split(b";")[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                raise _HttpError(400, "malformed chunk size") from None
            if size == 0:
                self._read_headers()  # trailers
                return b"".join(parts)
            total += size
            if total > limit:
                raise _HttpError(413, f"request body exceeds the limit of {limit} bytes")
            parts.append(self.rfile.read(size))
            self.rfile.readline(MAX_LINE + 1)

    def _send(self, status: int, body: bytes, content_type: str, close: bool, length: Optional[int] = None) -> None:
        reason = _REASONS.get(status, "Unknown")
        head = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body) if length is None else length}\r\n"
                f"{'Connection: close' + chr(13) + chr(10) if close else ''}\r\n")
        try:
            self.wfile.write(head.encode("latin-1") + body)
        except OSError:
            pass


def _keep_alive(request: HttpRequest) -> bool:
    connection = request.headers.get("connection", "").lower()
    if request.headers.get(":version") == "HTTP/1.0":
        return "keep-alive" in connection
    return "close" not in connection


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address, handler: Handler, max_body_bytes: int, idle_timeout: float, max_handlers: int):
        self.handler, self.max_body_bytes, self.idle_timeout = handler, max_body_bytes, idle_timeout
        self.handlers = threading.BoundedSemaphore(max(1, max_handlers))
        self._connections: Set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Connection)

    def track(self, connection: socket.socket, open_: bool) -> None:
        with self._connections_lock:
            (self._connections.add if open_ else self._connections.discard)(connection)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class HttpServer:
    """Serves `handler` on (host, port); port 0 picks a free port (see `.port`). At most `max_handlers` requests
    run the handler at once (connections beyond that wait for a turn)."""

    def __init__(self, host: str, port: int, handler: Handler, max_body_bytes: int, idle_timeout: float = 75.0,
                 max_handlers: int = 64):
        self._server = _Server((host, port), handler, max_body_bytes, idle_timeout, max_handlers)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="rest-accept", daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def start(self) -> "HttpServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        self._thread.join(timeout=5)
