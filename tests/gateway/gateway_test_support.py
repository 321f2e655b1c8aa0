"""Helpers for the gateway tests: a real uvicorn server in a thread, a real PostgreSQL, a recording backend."""

from __future__ import annotations

import glob
import http.server
import json
import os
import shutil
import socket
import subprocess
import threading
import time

import uvicorn

from gateway.app import create_app
from gateway.settings import GatewaySettings
from serving_test_support import wait_for  # noqa: F401  (the one poll with a deadline, shared with serving tests)

SECRET = b"test-secret-of-the-gateway-0123456789"
MODEL = "classifier"


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


class RunningGateway:
    """`create_app(settings)` served by uvicorn on a free 127.0.0.1 port, in a thread with its own loop."""

    def __init__(self, settings: GatewaySettings):
        self.settings = settings
        self.app = create_app(settings)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=0, log_level="error", access_log=False,
                                lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> "RunningGateway":
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the gateway did not start")
            time.sleep(0.02)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        return self

    def __exit__(self, *exc) -> None:
        self._server.should_exit = True
        self._thread.join(10)

    @property
    def gateway(self):
        return self.app.state.gateway


def settings_for(tmp_path, backend_url: str, **overrides) -> GatewaySettings:
    values = dict(backend_url=backend_url, hmac_secret=SECRET, database_url=f"sqlite:///{tmp_path}/gateway.db",
                  audit_log=str(tmp_path / "audit.jsonl"), key_cache_seconds=0.5, usage_flush_seconds=0.2)
    values.update(overrides)
    return GatewaySettings(**values)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def postgres_bin():
    """The directory of Debian's PostgreSQL server binaries, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return os.path.dirname(found[-1]) if found else None


class Postgres:
    """A throwaway PostgreSQL cluster on a free port (as the `postgres` user when this process is root)."""

    def __init__(self, root: str):
        self.bin = postgres_bin()
        self.root, self.data = root, os.path.join(root, "data")
        self.port = free_port()
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *command: str) -> None:
        subprocess.run(self._as + list(command), check=True, capture_output=True, timeout=60)

    def __enter__(self) -> "Postgres":
        os.makedirs(self.root, exist_ok=True)
        if self._as:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(f"{self.bin}/initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
        self._run(f"{self.bin}/pg_ctl", "-D", self.data, "-w", "-t", "30", "-l", os.path.join(self.root, "log"),
                  "-o", f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        return self

    def __exit__(self, *exc) -> None:
        subprocess.run(self._as + [f"{self.bin}/pg_ctl", "-D", self.data, "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)


class RecordingBackend:
    """A plain HTTP server that answers every request with `{"predictions": []}` and keeps the headers it got;
    it stands for a backend whose received headers a test must see (the real server does not show them)."""

    def __init__(self):
        self.seen = []
        seen = self.seen

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                seen.append({"path": self.path, "headers": dict(self.headers), "body": self.rfile.read(length)})
                body = json.dumps({"predictions": [], "model_version_status": []}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> "RecordingBackend":
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
