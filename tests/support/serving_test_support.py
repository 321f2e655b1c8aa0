"""Helpers shared by the serving tests (a plain module: test files import it, conftest builds fixtures on it)."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import time

MODEL = "classifier"
SCORER = "scorer"


def install(exported_dirs, base_path, versions, source=None):
    """Copies exported versions into `base_path/<version>` (staged, then renamed: an atomic push)."""
    os.makedirs(base_path, exist_ok=True)
    for version in versions:
        staging = os.path.join(os.path.dirname(str(base_path)), f".staging-{os.path.basename(str(base_path))}-{version}")
        shutil.copytree(exported_dirs[source or version], staging)
        os.rename(staging, os.path.join(base_path, str(version)))
    return str(base_path)


def wait_for(predicate, timeout=30.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Http:
    """A keep-alive HTTP/1.1 client for one server: `call` returns (status, parsed JSON or raw text)."""

    def __init__(self, port: int):
        self.port = port
        self._connection = http.client.HTTPConnection("localhost", port, timeout=30)

    def call(self, method, path, body=None, headers=None):
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode("utf-8")
        try:
            self._connection.request(method, path, data, headers or {})
            response = self._connection.getresponse()
        except (http.client.HTTPException, OSError):
            self._connection.close()
            self._connection = http.client.HTTPConnection("localhost", self.port, timeout=30)
            raise
        raw = response.read()
        if response.getheader("Connection", "").lower() == "close":
            self._connection.close()
        try:
            return response.status, json.loads(raw)
        except ValueError:
            return response.status, raw.decode("utf-8", "replace")
